"""Retries that really wait: a Redis sorted set of (due time, job), moved to the queue when due."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cmms.services.queue import JobQueue

log = logging.getLogger(__name__)
KEY = "cmms:jobs:delayed"


class DelayedJobs:
    def __init__(self, redis: Redis, queue: JobQueue) -> None:
        self.redis = redis
        self.queue = queue

    async def add(self, job_id: int, tenant_id: int | None, due: float) -> None:
        await self.redis.zadd(KEY, {f"{job_id}:{tenant_id or ''}": due})

    async def pump(self, interval: float = 0.2) -> None:
        """Forever: hand due jobs to the queue. ZREM decides which of several workers sends each."""
        while True:
            try:
                for member in await self.redis.zrangebyscore(KEY, "-inf", time.time(), start=0, num=100):
                    if await self.redis.zrem(KEY, member):
                        text = member.decode() if isinstance(member, bytes) else member
                        job, _, tenant = text.partition(":")
                        await self.queue.submit(int(job), int(tenant) if tenant else None)
            except RedisError:
                log.warning("delayed jobs: Redis unavailable")
            await asyncio.sleep(interval)
