"""The job system of a process: the broker client (to enqueue), and optionally workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio
from redis.asyncio import Redis
from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask
from taskiq.api import run_receiver_task

from cmms.jobs.broker import TaskiqQueue, make_broker, register_run_job
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.webhooks import register as register_webhook_task
from cmms.jobs.worker import Worker
from cmms.services.deps import Deps

log = logging.getLogger(__name__)


@dataclass
class JobSystem:
    broker: AsyncBroker
    task: AsyncTaskiqDecoratedTask[Any, Any]
    queue: TaskiqQueue
    redis_url: str


@asynccontextmanager
async def open_job_system(redis_url: str) -> AsyncIterator[JobSystem]:
    broker = make_broker(redis_url)
    task = register_run_job(broker)
    register_webhook_task(broker)
    await broker.startup()
    try:
        yield JobSystem(broker, task, TaskiqQueue(task), redis_url)
    finally:
        await broker.shutdown()


def progress_emitter(redis_url: str, channel: str) -> Any:
    """Send `job:progress` to a user's sockets on whichever node they are connected to."""
    manager = socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True)

    async def emit(data: dict[str, Any], user_id: int | None) -> None:
        if user_id is None:
            return
        try:
            await manager.emit("job:progress", data, room=f"user:{user_id}", namespace="/")
        except Exception:
            log.debug("job progress not delivered", exc_info=True)

    return emit


async def run_workers(deps: Deps, system: JobSystem, data_dir: Path, *, concurrency: int, channel: str) -> None:
    """Consume jobs until cancelled (in `cmms serve` or `cmms worker`)."""
    redis = Redis.from_url(system.redis_url)
    delayed = DelayedJobs(redis, system.queue)
    system.broker.state.worker = Worker(deps, data_dir, progress_emitter(system.redis_url, channel), delayed)
    pump = asyncio.create_task(delayed.pump(), name="delayed-jobs")
    try:
        await run_receiver_task(system.broker, max_async_tasks=concurrency, run_startup=False)
    finally:
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
        await redis.aclose()
