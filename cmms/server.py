"""`cmms serve`: the HTTP daemon and its orderly shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from aiohttp import web

from cmms.api.app import make_app
from cmms.config import Settings
from cmms.runtime import open_runtime

log = logging.getLogger("cmms.server")


async def serve(settings: Settings, started: float | None = None) -> None:
    started = started or time.perf_counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as rt:
        app = make_app(rt.deps, rt.readiness)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.server.shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, settings.server.host, settings.server.port)
        try:
            await site.start()
            log.info(
                "cmms ready",
                extra={
                    "url": f"http://{settings.server.host}:{settings.server.port}",
                    "data_dir": str(rt.data_dir),
                    "embedded": settings.embedded,
                    "startup_s": round(time.perf_counter() - started, 2),
                },
            )
            await stop.wait()
            log.info("shutting down: no new connections, finishing requests in flight")
        finally:
            await runner.cleanup()
    log.info("stopped")
