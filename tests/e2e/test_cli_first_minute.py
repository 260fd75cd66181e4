"""The first minute of a newcomer: what `cmms serve` says in a terminal, and what `cmms demo` prints.

The daemon runs as a real process on a database of its own (no tenant yet), with workers and
scheduler off so that only the start-up lines are compared. In a terminal its first lines say
where it listens, where its data is, how to stop it and what to type next; `cmms demo` then prints
the same `cmms-tui` line; in a pipe the same facts come as JSON records.
"""

from __future__ import annotations

import errno
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from tests.conftest import ADMIN_DSN

pytestmark = pytest.mark.timeout(180)
CONSOLE = "cmms-tui --server http://127.0.0.1:{port} --tenant demo --email tess@demo.cmms.local"


def _admin(statement: sql.Composable, name: str) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"cmms_first_{uuid.uuid4().hex[:10]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)), name)
    try:
        yield make_dsn(ADMIN_DSN, dbname=name)
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)), name)


@pytest.fixture
def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    env.update(
        CMMS_DATABASE_URL=database_url,
        CMMS_REDIS_URL=redis_url,
        CMMS_SERVER_PORT=str(port),
        CMMS_JOBS_WORKERS_IN_SERVE="false",
        CMMS_JOBS_SCHEDULER_IN_SERVE="false",
        NO_COLOR="1",
        TERM="xterm",
        PYTHONUNBUFFERED="1",
    )
    return env


def _serve_in_terminal(data_dir: Path, env: dict[str, str], until: str) -> list[str]:
    """Start `cmms serve` on a pseudo-terminal, read until a line contains `until`, stop it with Ctrl-C."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmms", "serve", "--data-dir", str(data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    text, interrupted = "", False
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: the process closed the terminal
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            text += chunk.decode(errors="replace")
            if until in text and not interrupted:
                proc.send_signal(signal.SIGINT)
                interrupted = True
    finally:
        os.close(master)
        if proc.poll() is None and not interrupted:
            proc.kill()
        status = proc.wait()
    lines = text.replace("\r\n", "\n").splitlines()
    assert interrupted, "\n".join(lines)
    assert status == 0, "\n".join(lines)
    return lines


def _index(lines: list[str], fragment: str) -> int:
    found = [i for i, line in enumerate(lines) if fragment in line]
    assert found, f"{fragment!r} not in:\n" + "\n".join(lines)
    return found[0]


def test_the_first_screen_and_the_demo_tell_the_next_steps(
    empty_database: str, redis_url: str, port: int, tmp_path: Path
) -> None:
    env = _env(empty_database, redis_url, port)
    console = CONSOLE.format(port=port)
    lines = _serve_in_terminal(tmp_path, env, until=console)
    expected = [
        f"cmms starting with data in {tmp_path}",
        f"cmms listening on http://127.0.0.1:{port}",
        f"data in {tmp_path} (PostgreSQL external, Redis external)",
        "stop with Ctrl-C",
        f"no tenant yet. Next, in another terminal: cmms demo --data-dir {tmp_path}",
        f"cmms tenant create NAME --data-dir {tmp_path}",
        console,
    ]
    at = [_index(lines, fragment) for fragment in expected]
    assert at == sorted(at), "\n".join(lines)
    assert at[-1] < 10, "\n".join(lines)  # all of it on the first screen
    assert not [line for line in lines if line.startswith("{")], "\n".join(lines)

    demo = subprocess.run(
        [sys.executable, "-m", "cmms", "demo", "--data-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=150,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    printed = demo.stdout.splitlines()
    assert f"  {console}" in printed, demo.stdout
    assert _index(printed, console) > _index(printed, "tess@demo.cmms.local"), demo.stdout  # after the logins


def test_a_pipe_gets_the_same_facts_as_json_records(
    empty_database: str, redis_url: str, port: int, tmp_path: Path
) -> None:
    env = _env(empty_database, redis_url, port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmms", "serve", "--data-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    records: list[dict[str, object]] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            records.append(json.loads(line))
            if "cmms-tui" in str(records[-1]["msg"]):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    by_msg = {str(r["msg"]).split(" (")[0]: r for r in records}
    listening = by_msg["cmms ready"]  # the message scripts match on (scripts/measure_cold_start.py)
    assert (listening["listen"], listening["url"]) == (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    assert isinstance(listening["startup_s"], float | int)
    data = by_msg[f"data in {tmp_path}"]
    assert (data["data_dir"], data["postgres"], data["redis"]) == (str(tmp_path), "external", "external")
    assert "stop with Ctrl-C" in by_msg
    assert str(records[-1]["msg"]).endswith(CONSOLE.format(port=port))
