"""taskiq over Redis streams: acknowledged delivery, so a killed worker's job is delivered again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask, TaskiqDepends, TaskiqState
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

QUEUE = "cmms:jobs"
GROUP = "cmms-workers"
# Longer than any job may take without a heartbeat: an unacknowledged message idle this long is
# claimed by another worker. The jobs table's own sweeper covers an idle queue sooner.
IDLE_MS = 10 * 60 * 1000


def make_broker(redis_url: str) -> AsyncBroker:
    return RedisStreamBroker(
        redis_url,
        queue_name=QUEUE,
        consumer_group_name=GROUP,
        maxlen=100_000,
        idle_timeout=IDLE_MS,
        unacknowledged_lock_timeout=30,
        xread_block=1000,
    ).with_result_backend(RedisAsyncResultBackend(redis_url, result_ex_time=3600))


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
