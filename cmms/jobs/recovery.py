"""Jobs that outlive Redis: when Redis comes back empty, hand its lost work back from the table.

A Redis restart without persistence loses the job stream (its messages and consumer group) and
the sorted set of delayed retries. The jobs table still says what is queued and when each retry
is due, so the first scheduler to see the epoch key gone claims the new epoch (SET NX) and
re-sends every queued job, putting not-yet-due retries back into the delayed set. Workers claim a
job by its id, so a job that was in fact still in the stream runs once all the same.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cmms.jobs.delayed import DelayedJobs
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps

log = logging.getLogger(__name__)
EPOCH = "cmms:jobs:epoch"


class QueueRecovery:
    def __init__(self, deps: Deps, redis: Redis, *, interval: float = 1.0) -> None:
        self.deps = deps
        self.redis = redis
        self.delayed = DelayedJobs(redis, deps.jobs)
        self.interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("job queue recovery failed; trying again")
            await asyncio.sleep(self.interval)

    async def check(self) -> int | None:
        """Re-send the table's queued jobs if Redis lost them; the number re-sent, else None."""
        try:
            fresh = await self.redis.set(EPOCH, secrets.token_hex(8), nx=True)
        except RedisError:
            return None  # away: nothing can be sent now; the next check after it returns decides
        if not fresh:
            return None
        try:
            return await self.resend()
        except BaseException:
            await self._release()  # let the next check (here or on another node) try again
            raise

    async def resend(self) -> int:
        jobs = await jobs_service.queued_jobs(self.deps)
        now = time.time()
        for job in jobs:
            due = job["run_after"].timestamp() if job["run_after"] is not None else now
            if due > now:
                await self.delayed.add(job["id"], job["tenant_id"], due)
            else:
                await self.deps.jobs.submit(job["id"], job["tenant_id"])  # raises: the check runs again
        if jobs:
            log.warning("job queue found empty; re-sent queued jobs from the table", extra={"jobs": len(jobs)})
        return len(jobs)

    async def _release(self) -> None:
        try:
            await self.redis.delete(EPOCH)
        except RedisError:
            pass
