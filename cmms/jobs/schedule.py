"""Periodic jobs and the stale-job sweeper; any number of schedulers may run, one acts per period.

Each periodic job runs when its period slot (`floor(now / period)`) is claimed in PostgreSQL
(`periodic_runs`, a primary key on job and slot), so two schedulers never run the same job twice
in one period, even across a Redis restart, and a scheduler that was down simply runs it at its
next tick. Each scheduler also watches for a Redis that came back empty (`QueueRecovery`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis

from cmms.domain.jobs import JobIn, JobKind
from cmms.domain.roles import Actor, Role
from cmms.jobs.recovery import QueueRecovery
from cmms.jobs.webhooks import sweep as sweep_webhooks
from cmms.services import jobs as jobs_service
from cmms.services import tenants as tenants_service
from cmms.services.deps import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    kind: JobKind
    period: int  # seconds
    per_tenant: bool
    params: dict[str, object] = field(default_factory=dict)


def periodic_jobs(maintenance_every: int, cleanup_every: int, backup_every: int) -> list[Periodic]:
    return [
        Periodic("maintenance", JobKind.MAINTENANCE, maintenance_every, per_tenant=True),
        Periodic("cleanup", JobKind.CLEANUP, cleanup_every, per_tenant=True),
        Periodic("cleanup-system", JobKind.CLEANUP, cleanup_every, per_tenant=False),
        Periodic("backup", JobKind.BACKUP, backup_every, per_tenant=False),
        Periodic("digest", JobKind.EMAIL, 86_400, per_tenant=True, params={"template": "digest"}),
    ]


class Scheduler:
    def __init__(
        self,
        deps: Deps,
        redis: Redis,
        jobs: list[Periodic],
        *,
        tick: float = 15.0,
        heartbeat_timeout: int = 60,
        queued_timeout: int = 30,
    ) -> None:
        self.deps = deps
        self.redis = redis
        self.jobs = jobs
        self.tick = tick
        self.heartbeat_timeout = heartbeat_timeout
        self.queued_timeout = queued_timeout

    async def run(self) -> None:
        recovery = asyncio.create_task(QueueRecovery(self.deps, self.redis).run(), name="queue-recovery")
        try:
            while True:
                try:
                    await self.once()
                except Exception:
                    log.exception("scheduler tick failed")
                await asyncio.sleep(self.tick)
        finally:
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)

    async def once(self, now: float | None = None) -> list[int]:
        """One tick: start due periodic jobs and re-send lost ones; returns the jobs started."""
        now = time.time() if now is None else now
        started: list[int] = []
        for job in self.jobs:
            if await jobs_service.claim_period(self.deps, job.name, int(now // job.period)):
                started += await self._start(job)
        for stale in await jobs_service.stale_jobs(self.deps, self.heartbeat_timeout, self.queued_timeout):
            log.info("re-sending job %s (%s)", stale["id"], stale["status"])
            await jobs_service.submit(self.deps, stale["id"], stale["tenant_id"])
        await sweep_webhooks(self.deps)
        return started

    async def _start(self, job: Periodic) -> list[int]:
        request = JobIn(kind=job.kind, params=dict(job.params))
        scopes = await tenants_service.all_ids(self.deps) if job.per_tenant else [0]
        ids = []
        for tenant_id in scopes:
            operator = Actor(tenant_id=tenant_id, user_id=None, role=Role.ADMIN, request_id="scheduler")
            ids.append((await jobs_service.create(self.deps, operator, request))["id"])
        log.info("periodic %s started", job.name, extra={"jobs": ids})
        return ids
