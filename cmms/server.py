"""`cmms serve`: HTTP API, Socket.IO and the outbox relay, with an orderly shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from cmms.api.app import make_app
from cmms.config import Settings
from cmms.realtime.outbox import OutboxRelay, cache_handler, email_handler, search_handler, socket_handler
from cmms.realtime.server import Realtime
from cmms.runtime import Runtime, open_runtime

log = logging.getLogger("cmms.server")


def build_app(rt: Runtime) -> tuple[web.Application, Realtime, OutboxRelay]:
    """The daemon's whole application: REST + Socket.IO on one app, and the relay that feeds it."""
    realtime = Realtime(rt.deps, rt.redis_url, channel=rt.socket_channel, flood_limit=rt.settings.realtime.flood_limit)
    handlers = [cache_handler(rt.deps), socket_handler(realtime), email_handler(rt.deps)]
    if rt.deps.search is not None:
        handlers.append(search_handler(rt.deps.search))
    relay = OutboxRelay(rt.deps, rt.dsn, handlers)
    app = make_app(rt.deps, rt.readiness)
    realtime.attach(app)
    return app, realtime, relay


@asynccontextmanager
async def running(rt: Runtime, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    app, _, relay = build_app(rt)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=rt.settings.server.shutdown_timeout)
    await runner.setup()
    background = [asyncio.create_task(relay.run(), name="outbox-relay")]
    if rt.deps.search is not None:  # Elasticsearch indexing (PostgreSQL's run() returns at once)
        background.append(asyncio.create_task(rt.deps.search.run(), name="search-indexer"))
    if rt.settings.jobs.workers_in_serve:
        background.append(asyncio.create_task(rt.run_workers(), name="job-workers"))
    if rt.settings.jobs.scheduler_in_serve:
        background.append(asyncio.create_task(rt.scheduler().run(), name="scheduler"))
    try:
        await web.TCPSite(runner, host, port).start()
        yield runner
    finally:
        await stop_tasks(background)
        await runner.cleanup()


async def stop_tasks(tasks: list[asyncio.Task[None]], attempts: int = 20) -> None:
    """Cancel background tasks until they are done.

    A library deep in a task may absorb one cancellation (seen during a database or Redis call);
    cancelling again at the next await ends the task instead of letting shutdown hang.
    """
    for _ in range(attempts):
        pending = [t for t in tasks if not t.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("background task %s ended with %r", task.get_name(), task.exception())


async def serve(settings: Settings, started: float | None = None) -> None:
    started = started or time.perf_counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = settings.server.host, settings.server.port
    async with open_runtime(settings) as rt, running(rt, host, port):
        log.info(
            "cmms ready",
            extra={
                "url": f"http://{host}:{port}",
                "data_dir": str(rt.data_dir),
                "embedded": settings.embedded,
                "startup_s": round(time.perf_counter() - started, 2),
            },
        )
        gc.freeze()  # start-up objects are long-lived: keep them out of every collection
        await stop.wait()
        log.info("shutting down: no new connections, finishing requests in flight")
    log.info("stopped")
