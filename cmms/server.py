"""`cmms serve`: HTTP API, Socket.IO and the outbox relay, with an orderly shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from cmms import demo
from cmms.api.app import make_app
from cmms.config import Settings
from cmms.jobs.webhooks import kicker
from cmms.logs import FOR_PEOPLE
from cmms.realtime.outbox import OutboxRelay, cache_handler, email_handler, search_handler, socket_handler
from cmms.realtime.server import Realtime
from cmms.realtime.webhooks import webhook_handler
from cmms.runtime import Runtime, open_runtime
from cmms.services import api_keys, tenants
from cmms.welcome import cmms_command, reach_url, tui_command

log = logging.getLogger("cmms.server")


def build_app(rt: Runtime) -> tuple[web.Application, Realtime, OutboxRelay]:
    """The daemon's whole application: REST + Socket.IO on one app, and the relay that feeds it."""
    realtime = Realtime(rt.deps, rt.redis_url, channel=rt.socket_channel, flood_limit=rt.settings.realtime.flood_limit)
    handlers = [cache_handler(rt.deps), socket_handler(realtime), email_handler(rt.deps)]
    if rt.deps.search is not None:
        handlers.append(search_handler(rt.deps.search))
    batches = [webhook_handler(rt.deps, kicker(rt.job_system.broker))]
    relay = OutboxRelay(rt.deps, rt.dsn, handlers, batch_handlers=batches)
    app = make_app(rt.deps, rt.readiness)
    realtime.attach(app)
    return app, realtime, relay


@asynccontextmanager
async def running(rt: Runtime, host: str, port: int, *, reuse_port: bool = False) -> AsyncIterator[web.AppRunner]:
    """The app served on host:port with its background tasks; `reuse_port` lets sibling processes
    (`cmms serve --workers N`) listen on the same port, the kernel spreading connections over them."""
    app, _, relay = build_app(rt)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=rt.settings.server.shutdown_timeout)
    await runner.setup()
    background = [
        asyncio.create_task(rt.push.run(), name="push-channel"),
        asyncio.create_task(relay.run(), name="outbox-relay"),
        asyncio.create_task(api_keys.record_usage_forever(rt.deps), name="api-key-usage"),
    ]
    if rt.deps.search is not None:  # Elasticsearch indexing (PostgreSQL's run() returns at once)
        background.append(asyncio.create_task(rt.deps.search.run(), name="search-indexer"))
    if rt.settings.jobs.workers_in_serve:
        background.append(asyncio.create_task(rt.run_workers(), name="job-workers"))
    if rt.settings.jobs.scheduler_in_serve:
        background.append(asyncio.create_task(rt.scheduler().run(), name="scheduler"))
    try:
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
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


def announce_start(settings: Settings) -> None:
    data_dir = settings.data_dir
    new = not settings.database.url and not (data_dir / "postgres" / "PG_VERSION").exists()
    note = " (a new data dir: setting up PostgreSQL takes a few seconds)" if new else ""
    log.info(f"cmms starting with data in {data_dir}{note}", extra={"data_dir": str(data_dir)})


async def _welcome(rt: Runtime, listen_url: str, startup_s: float) -> None:
    """The first screen: where it listens, where its data is, how to stop it, what to do next."""
    settings = rt.settings
    url = reach_url(settings)
    log.info(
        "cmms ready",
        extra={
            "listen": listen_url,
            "url": url,
            "startup_s": startup_s,
            FOR_PEOPLE: f"cmms listening on {listen_url} (ready in {startup_s} s)",
        },
    )
    postgres = "external" if settings.database.url else "embedded"
    redis = "external" if settings.redis.url else "embedded"
    logs = f"{rt.data_dir}/logs"
    where = f"embedded PostgreSQL and Redis, their logs in {logs}" if postgres == redis == "embedded" else ""
    log.info(
        f"data in {rt.data_dir} ({where or f'PostgreSQL {postgres}, Redis {redis}'})",
        extra={"data_dir": str(rt.data_dir), "postgres": postgres, "redis": redis},
    )
    log.info("stop with Ctrl-C (or SIGTERM)")
    if await tenants.all_ids(rt.deps):
        log.info(f"console: cmms-tui --server {url}; API: {url}/api/v1, described at {url}/api/openapi.json")
        return
    log.info(f"no tenant yet. Next, in another terminal: {cmms_command(settings, 'demo')} (a demo tenant and logins)")
    log.info(f"or a tenant of your own: {cmms_command(settings, 'tenant', 'create', 'NAME')}, then cmms user create")
    log.info(f"then log in with the console: {tui_command(url, demo.TENANT, demo.CONSOLE_EMAIL)}")


async def serve(settings: Settings, started: float | None = None, *, child: str | None = None) -> None:
    """One daemon process; `child` ("first" or "other") when it is one of `cmms serve --workers N`,
    whose supervisor has announced the start and where only the first child prints the welcome."""
    started = started or time.perf_counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = settings.server.host, settings.server.port
    if child is None:
        announce_start(settings)
    async with open_runtime(settings) as rt, running(rt, host, port, reuse_port=child is not None):
        listen_host = f"[{host}]" if ":" in host else host
        if child in (None, "first"):
            await _welcome(rt, f"http://{listen_host}:{port}", round(time.perf_counter() - started, 2))
        else:
            log.debug("worker process ready", extra={"pid": os.getpid()})
        gc.freeze()  # start-up objects are long-lived: keep them out of every collection
        await stop.wait()
        log.info("shutting down: no new connections, finishing requests in flight")
    log.info("stopped")
