"""`cmms serve --workers 2` as a real process tree on the embedded defaults of a new data dir.

The supervisor starts the embedded PostgreSQL and Redis, then two full daemon processes that
listen on one port with SO_REUSEPORT. The test holds websockets until both processes hold some
(the kernel spreads connections), checks that one committed order reaches every socket whichever
process holds it (only one of them runs the outbox relay; the other hears it through Redis), that
a killed child is replaced, and that SIGTERM to the supervisor leaves no process behind.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import socketio

from tests.e2e.test_serve_subprocess import (
    PASSWORD,
    alive,
    cmms,
    data_dir,  # noqa: F401  (the fixture: a short data dir under /tmp, cleaned after the test)
    describe,
    embedded_env,
    embedded_redis_pid,
    free_port,
    http,
    postmaster_pid,
    related,
    run_cli,
    wait_gone,
)

pytestmark = pytest.mark.timeout(300)
READY_WITHIN_S = 120.0
STOP_WITHIN_S = 40.0
DELIVERY_S = 10.0
SOCKETS = 16  # both processes hold some of them unless the kernel is very unlucky (2 x 2^-16)


class Workers:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "serve.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmms(root, "serve", "--workers", "2", "--port", str(self.port)),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=embedded_env(),
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def children(self) -> list[psutil.Process]:
        kids = [p for p in alive(psutil.Process(self.proc.pid).children()) if "--child" in p.cmdline()]
        return sorted(kids, key=lambda p: p.pid)

    def listening(self, proc: psutil.Process) -> bool:
        return any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in proc.net_connections("tcp"))

    def wait_ready(self) -> list[psutil.Process]:
        """Both children listening on the port and /health/ready answering 200."""
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"cmms serve exited with {self.proc.returncode}:\n{self.output()}")
            kids = self.children()
            try:
                status, _ = http("GET", self.base + "/health/ready")
            except OSError:
                status = 0
            if status == 200 and len(kids) == 2 and all(self.listening(k) for k in kids):
                return kids
            time.sleep(0.2)
        pytest.fail(f"two workers were not ready within {READY_WITHIN_S} s:\n{self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def workers(data_dir: Path) -> Iterator[Workers]:  # noqa: F811
    w = Workers(data_dir)
    try:
        yield w
    finally:
        w.close()


def _login(base: str, email: str) -> str:
    status, body = http("POST", base + "/api/v1/auth/login", {"tenant": "acme", "email": email, "password": PASSWORD})
    assert status == 200, body
    return str(body["access_token"])


def _user(root: Path, email: str, role: str) -> None:
    made = run_cli(root, "user", "create", "--tenant", "acme", "--email", email, "--role", role,
                   "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr


def _established(workers: Workers, proc: psutil.Process) -> int:
    return sum(
        1 for c in proc.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == workers.port
    )


async def test_two_processes_share_the_port_deliver_events_everywhere_restart_and_stop(
    workers: Workers,
    data_dir: Path,  # noqa: F811
) -> None:
    kids = workers.wait_ready()
    assert len({k.pid for k in kids}) == 2 and workers.proc.pid not in {k.pid for k in kids}

    assert run_cli(data_dir, "tenant", "create", "acme").returncode == 0
    _user(data_dir, "tech@acme.example", "technician")
    _user(data_dir, "boss@acme.example", "manager")
    tech, boss = _login(workers.base, "tech@acme.example"), _login(workers.base, "boss@acme.example")

    received: list[asyncio.Queue[dict[str, Any]]] = []
    clients = []
    try:
        for _ in range(SOCKETS):
            client = socketio.AsyncClient(reconnection=False)
            inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            client.on("order:created", inbox.put)
            await client.connect(workers.base, auth={"token": tech}, transports=["websocket"], wait_timeout=30)
            clients.append(client)
            received.append(inbox)
        held = {k.pid: _established(workers, k) for k in kids}
        assert sum(held.values()) >= SOCKETS and all(held.values()), held  # both processes hold sockets

        status, order = http("POST", workers.base + "/api/v1/orders", {"title": "pump seal leaking"}, token=boss)
        assert status == 201, order
        for inbox in received:
            envelope = await asyncio.wait_for(inbox.get(), DELIVERY_S)
            assert (envelope["type"], envelope["data"]["id"]) == ("order:created", order["id"])
    finally:
        for client in clients:
            await client.disconnect()

    # A child that dies is started again. (Connections the kernel had queued on the killed
    # process's listener are reset: a SO_REUSEPORT property, so nothing is asserted meanwhile.)
    kids[0].kill()
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        now = workers.children()
        if len(now) == 2 and kids[0].pid not in {k.pid for k in now} and all(workers.listening(k) for k in now):
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail(f"the killed worker was not replaced:\n{workers.output()}")
    replaced = workers.children()
    assert all(http("GET", workers.base + "/health/live")[0] == 200 for _ in range(6))

    pg_pid, redis_pid = postmaster_pid(data_dir), embedded_redis_pid(data_dir)
    family = [*replaced, psutil.Process(pg_pid), psutil.Process(redis_pid), *related(data_dir)]
    workers.proc.send_signal(signal.SIGTERM)
    assert workers.proc.wait(timeout=STOP_WITHIN_S) == 0, workers.output()
    left = wait_gone(family, 10.0)
    assert not left, f"left running after SIGTERM:\n{describe(left)}\n{workers.output()}"
    assert not alive(related(data_dir)), describe(alive(related(data_dir)))
