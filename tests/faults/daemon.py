"""`cmms serve` as a real process over the private servers, and a small HTTP client for it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from tests.faults.servers import free_port

JWT_SECRET = "fault-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "fault-Correct-Horse-9"


@dataclass
class Daemon:
    data_dir: Path
    database_url: str
    redis_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    workers: int = 1  # one process: SIGKILL then kills the very process that serves

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
        env.update(
            PYTHONUNBUFFERED="1",
            CMMS_DATABASE_URL=self.database_url,
            CMMS_REDIS_URL=self.redis_url,
            CMMS_JWT_SECRET=JWT_SECRET,
            CMMS_DATA_DIR=str(self.data_dir),
            CMMS_AUTH_MAX_FAILURES_ADDRESS="100000",
            CMMS_AUTH_PASSWORD_TIME_COST="1",
            CMMS_AUTH_PASSWORD_MEMORY_KIB="1024",
            CMMS_JOBS_SCHEDULER_TICK="1",
            CMMS_LOG_FORMAT="json",
            CMMS_LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "cmms", *args], env=self.env, input=stdin, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"cmms {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "serve.log", "ab")  # the child writes it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cmms", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"cmms serve exited: {self.log_text()[-2000:]}")
                try:
                    async with http.get(f"{self.url}/health/live", timeout=aiohttp.ClientTimeout(total=1)) as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("cmms serve did not start")

    def kill(self) -> None:
        """SIGKILL the daemon and any node processes it runs, all at once, as a crash of the host
        would (the embedded servers, children of their own, are left as a crash leaves them)."""
        assert self.proc is not None
        children = psutil.Process(self.proc.pid).children(recursive=True)
        nodes = [p for p in children if " -m cmms " in f" {' '.join(p.cmdline())} "]
        for proc in [self.proc, *nodes]:
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def log_text(self) -> str:
        path = self.data_dir / "serve.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Client:
    """JSON over HTTP with one bearer token; answers (status, body, headers), never raises on 4xx/5xx."""

    def __init__(self, base: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any, Any]:
        headers = {}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            async with http.request(method, self.base + path, json=body, headers=headers) as resp:
                raw = await resp.read()
                data = None
                if raw and resp.content_type.endswith("json"):
                    data = await resp.json(content_type=None)
                return resp.status, data, resp.headers

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, data, _ = await self.call(method, path, body)
        assert got == status, (method, path, got, data)
        return data


async def login(base: str, tenant: str, email: str) -> tuple[Client, dict[str, Any]]:
    status, data, _ = await Client(base).call("POST", "/api/v1/auth/login", {"tenant": tenant, "email": email,
                                                                              "password": PASSWORD})
    assert status == 200, data
    return Client(base, data["access_token"]), data


async def eventually(check: Any, timeout: float = 10.0, every: float = 0.2) -> Any:
    """Poll `check()` (async, returns a truthy value when done) until it holds; the value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
        except (aiohttp.ClientError, TimeoutError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"did not happen within {timeout} s; last: {last!r}")
