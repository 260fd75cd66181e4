"""taskiq over Redis streams: acknowledged delivery, so a killed worker's job is delivered again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, AsyncTaskiqDecoratedTask, TaskiqDepends, TaskiqState
from taskiq_redis import RedisStreamBroker

log = logging.getLogger(__name__)

QUEUE = "cmms:jobs"
GROUP = "cmms-workers"
# Longer than any job may take without a heartbeat: an unacknowledged message idle this long is
# claimed by another worker. The jobs table's own sweeper covers an idle queue sooner.
IDLE_MS = 10 * 60 * 1000


class ResilientStreamBroker(RedisStreamBroker):
    """The stream broker, consuming again by itself after Redis was away or restarted empty.

    taskiq-redis reads with XREADGROUP and gives up on the first error: a Redis restart without
    persistence drops the stream and its consumer group (NOGROUP), and a lost connection ends the
    listener. Here the group is declared again and the read resumes with a capped backoff; jobs
    whose messages were lost with Redis are re-sent from the jobs table (`cmms.jobs.recovery`).
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        delay = 0.1
        while True:
            try:
                async for message in super().listen():
                    delay = 0.1
                    yield message
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("job stream or consumer group missing (Redis restarted?); declaring it again")
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("job stream unreachable, retrying in %.1f s: %s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            try:
                await self._declare_consumer_group()
            except RedisError:
                pass  # still away: the next read fails and waits again


def make_broker(redis_url: str) -> AsyncBroker:
    return ResilientStreamBroker(
        redis_url,
        queue_name=QUEUE,
        consumer_group_name=GROUP,
        # A group declared on a stream that already has entries (Redis came back empty and a job
        # was sent before any worker declared the group again) starts at its beginning, not at
        # its end, so those jobs are read; a duplicate delivery is harmless (claims by job id).
        consumer_id="0",
        maxlen=100_000,
        idle_timeout=IDLE_MS,
        unacknowledged_lock_timeout=30,
        xread_block=1000,
        # A pooled connection that Redis closed (a restart) is retried on a new one, not failed.
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2.0,
    )  # no taskiq result backend: the jobs row is the record of every outcome


def register_run_job(broker: AsyncBroker) -> AsyncTaskiqDecoratedTask[Any, Any]:
    @broker.task(task_name="cmms.run_job")
    async def run_job(job_id: int, tenant_id: int | None, state: TaskiqState = TaskiqDepends()) -> None:
        await state.worker.run(job_id, tenant_id)

    return run_job


@dataclass
class TaskiqQueue:
    """The JobQueue port of the services, backed by the broker."""

    task: AsyncTaskiqDecoratedTask[Any, Any]

    async def submit(self, job_id: int, tenant_id: int | None) -> None:
        await self.task.kiq(job_id, tenant_id)
