"""A real `cmms serve` for the console's tests, and a TCP proxy in front of it that can cut the network.

The daemon runs as a subprocess on a fresh PostgreSQL database (127.0.0.1:5432, created here and
dropped at the end), Redis database 14 and a temporary data directory; the tenant and its users
are made with the CLI, as an operator would. The console connects through the proxy, so a test can
cut every connection (and refuse new ones), change data over the daemon's own port, and restore.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import redis
from psycopg2 import sql
from psycopg2.extensions import make_dsn

ADMIN_DSN = os.environ.get("CMMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_TUI_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
JWT_SECRET = "tui-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "tui-Correct-Horse-9"
TENANT = "tuitest"
USERS = {
    "manager": ("max@tui.test", "Max Manager"),
    "technician": ("tess@tui.test", "Tess Technician"),
    "technician2": ("theo@tui.test", "Theo Technician"),
    "requester": ("rita@tui.test", "Rita Requester"),
}


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
    return status, json.loads(raw) if raw else None


class Proxy:
    """A threaded TCP forwarder: `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update({client, upstream})
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            sockets = list(self._sockets)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stop = True
        self.cut()
        self._listener.close()


@dataclass
class Server:
    data_dir: Path
    port: int
    env: dict[str, str]
    database_url: str
    proxy: Proxy
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """What the console connects to (through the proxy)."""
        return f"http://127.0.0.1:{self.proxy.port}"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cmms", "--data-dir", str(self.data_dir), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=90,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cmms {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cmms", "--data-dir", str(self.data_dir), "serve", "--port", str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cmms serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _ = http("GET", self.base + "/health/ready")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("cmms serve did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def login(self, who: str, tenant: str = TENANT) -> str:
        email = USERS[who][0]
        status, body = http(
            "POST", self.base + "/api/v1/auth/login", {"tenant": tenant, "email": email, "password": PASSWORD}
        )
        assert status == 200, body
        self.tokens[who] = body["access_token"]
        self.ids[who] = body["user"]["id"]
        return str(body["access_token"])

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        """An HTTP call as another user (over the daemon's own port, not the console's proxy)."""
        token = self.tokens.get(who) or self.login(who)
        status, data = http(method, self.base + path, body, token)
        if status == 401:
            status, data = http(method, self.base + path, body, self.login(who))
        assert status < 400, (status, data)
        return data

    def sql(self, statement: str, params: Any = ()) -> None:
        conn = psycopg2.connect(self.database_url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
        finally:
            conn.close()


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def running_server(redis_url: str = REDIS_URL) -> Iterator[Server]:
    """A daemon on its own database; `redis_url` must not be shared with another running daemon
    (the job stream, cache and Socket.IO channel of a Redis database belong to one deployment)."""
    name = f"cmms_tui_{uuid.uuid4().hex[:10]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    database_url = make_dsn(ADMIN_DSN, dbname=name)
    data_dir = Path(tempfile.mkdtemp(prefix="cmms-tui-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    env.update(
        PYTHONUNBUFFERED="1",
        CMMS_DATABASE_URL=database_url,
        CMMS_REDIS_URL=redis_url,
        CMMS_JWT_SECRET=JWT_SECRET,
        CMMS_AUTH_MAX_FAILURES_ADDRESS="10000",
        CMMS_LOG_LEVEL="WARNING",
    )
    port = free_port()
    server = Server(data_dir, port, env, database_url, Proxy(port), data_dir / "serve.log")
    try:
        server.start()
        server.cli("tenant", "create", TENANT, "--display-name", "TUI Test Works")
        for role, (email, display) in USERS.items():
            server.cli(
                "user", "create", "--tenant", TENANT, "--email", email, "--role", role.rstrip("2"),
                "--name", display, "--password-stdin", stdin=PASSWORD + "\n",
            )  # fmt: skip
        yield server
    finally:
        server.stop()
        server.proxy.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        conn = _admin()
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.close()
