"""`cmms serve --workers N`: N full daemon processes sharing one port through SO_REUSEPORT.

Each child is an ordinary `cmms serve` node (HTTP, Socket.IO, job workers, scheduler, and a
candidate for the one outbox relay, which the PostgreSQL advisory lock still picks), because
one Python process uses one core. The parent only owns what must exist once: the embedded
servers (started here first, so every child joins them and the last one out stops them), the
migrations and the generated JWT secret (so children never race to create them), and the
children's lives: a child that dies is started again; SIGTERM or SIGINT stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cmms.config import Settings
from cmms.db.migrate import migrate
from cmms.runtime import jwt_secret, open_servers
from cmms.server import announce_start

log = logging.getLogger("cmms.server")
FAST_FAILURE_S = 10.0  # a child that exits sooner than this did not really start
GIVE_UP_AFTER = 3  # every child failing fast this many times in a row: the daemon cannot start
KILL_AFTER_S = 15.0  # beyond shutdown_timeout, before stragglers are killed
_PR_SET_PDEATHSIG = 1


@dataclass
class _Child:
    index: int
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    fast_failures: int = 0
    restart_at: float = 0.0
    history: list[int] = field(default_factory=list)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, settings: Settings, workers: int, config_file: str | None) -> None:
        self.settings = settings
        self.children = [_Child(i) for i in range(workers)]
        self.config_file = config_file
        self.stopping = asyncio.Event()

    def _command(self, child: _Child) -> list[str]:
        s = self.settings.server
        argv = [sys.executable, "-m", "cmms", "serve", "--data-dir", str(self.settings.data_dir)]
        if self.config_file:
            argv += ["--config", str(Path(self.config_file).resolve())]
        # The first child of the first generation prints the welcome; restarts and others stay quiet.
        role = "first" if child.index == 0 and not child.history else "other"
        return [*argv, "--host", s.host, "--port", str(s.port), "--workers", "1", "--child", role]

    def _start(self, child: _Child) -> None:
        child.proc = subprocess.Popen(self._command(child), stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        child.started = time.monotonic()

    def _reap(self, child: _Child) -> None:
        """A child that exited on its own: note it and schedule its restart (with backoff)."""
        assert child.proc is not None
        code = child.proc.returncode
        lived = time.monotonic() - child.started
        child.history.append(code)
        child.fast_failures = child.fast_failures + 1 if lived < FAST_FAILURE_S else 0
        delay = min(10.0, 0.5 * 2 ** max(0, child.fast_failures - 1)) if child.fast_failures else 0.5
        child.restart_at = time.monotonic() + delay
        child.proc = None
        log.warning(
            f"worker process {child.index} exited with status {code} after {lived:.1f} s; restarting in {delay:.1f} s",
            extra={"worker": child.index, "status": code, "restart_in_s": delay},
        )

    def _hopeless(self) -> bool:
        return all(c.fast_failures >= GIVE_UP_AFTER for c in self.children)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        for child in self.children:
            self._start(child)
        pids = [c.proc.pid for c in self.children if c.proc is not None]
        listed = ", ".join(map(str, pids))
        log.info(
            f"serving on port {self.settings.server.port} with {len(pids)} processes (pids {listed})",
            extra={"workers": len(pids), "pids": pids},
        )
        status = 0
        while not self.stopping.is_set():
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None:
                    self._reap(child)
                elif child.proc is None and time.monotonic() >= child.restart_at:
                    self._start(child)
            if self._hopeless():
                log.error("the worker processes exit as soon as they start (see their messages above); giving up")
                status = 1
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 0.2)
        await self._stop_all()
        return status

    async def _stop_all(self) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.server.shutdown_timeout + KILL_AFTER_S
        while any(p.poll() is None for p in running) and time.monotonic() < deadline:  # noqa: ASYNC110 (Popen)
            await asyncio.sleep(0.1)
        for proc in running:
            if proc.poll() is None:
                log.warning(f"worker process {proc.pid} did not stop in time; killing it")
                proc.kill()
                proc.wait()


async def supervise(settings: Settings, workers: int, config_file: str | None) -> int:
    """Start the shared servers, run `workers` children until a signal, stop them; the exit status."""
    data_dir = settings.data_dir
    announce_start(settings)
    async with open_servers(settings) as (dsn, _):
        await migrate(dsn)
        jwt_secret(settings, data_dir)
        status = await Supervisor(settings, workers, config_file).run()
    log.info("stopped")
    return status


def default_workers() -> int:
    return os.cpu_count() or 1
