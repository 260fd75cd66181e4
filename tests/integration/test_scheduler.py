"""Two schedulers ticking at the same moment start each periodic job once per period."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cmms.db.pool import fetchall, transaction
from cmms.db.repos import jobs as job_repo
from cmms.jobs.schedule import Scheduler, periodic_jobs
from cmms.runtime import Runtime
from cmms.services import tenants
from tests.integration.support import Tenant

DAY = 86_400


async def _scopes(rt: Runtime) -> list[int | None]:
    return [None, *await tenants.all_ids(rt.deps)]


async def _jobs_after(rt: Runtime, mark: dict[int | None, int]) -> list[dict[str, Any]]:
    found = []
    for scope in await _scopes(rt):
        async with transaction(rt.deps.pool, scope) as cur:
            found += await fetchall(
                cur, "SELECT id, tenant_id, kind FROM jobs WHERE id > %s ORDER BY id", (mark.get(scope, 0),)
            )
    return found


@pytest.fixture
async def started(rt: Runtime) -> AsyncIterator[list[dict[str, Any]]]:
    """The jobs the test's schedulers start; cancelled afterwards, so no worker ever runs them."""
    made: list[dict[str, Any]] = []
    yield made
    for job in made:
        async with transaction(rt.deps.pool, job["tenant_id"]) as cur:
            await job_repo.cancel(cur, job["id"])


async def test_two_schedulers_start_each_periodic_job_once_per_period(
    rt: Runtime, other: Tenant, started: list[dict[str, Any]]
) -> None:
    j = rt.settings.jobs
    jobs = periodic_jobs(j.maintenance_every, j.cleanup_every, j.backup_every)
    first, second = (Scheduler(rt.deps, rt.deps.redis, jobs) for _ in range(2))
    # A day of its own far in the future, so that no other run has claimed these periods.
    day = (4_000_000_000 // DAY + random.randrange(100_000)) * DAY
    tenant_count = len(await tenants.all_ids(rt.deps))
    assert tenant_count >= 1  # `other` at least: per-tenant jobs are started for each

    async def tick(now: float) -> list[dict[str, Any]]:
        mark = {}
        for scope in await _scopes(rt):
            async with transaction(rt.deps.pool, scope) as cur:
                rows = await fetchall(cur, "SELECT coalesce(max(id), 0) AS id FROM jobs")
                mark[scope] = int(rows[0]["id"])
        ids = await asyncio.gather(first.once(now=now), second.once(now=now))
        made = await _jobs_after(rt, mark)
        started.extend(made)
        assert sorted(ids[0] + ids[1]) == sorted(r["id"] for r in made)
        return made

    def due(now: float, previous: float | None) -> Counter[str]:
        """What should start at `now`: each job whose period slot is new since `previous`."""
        expected: Counter[str] = Counter()
        for job in jobs:
            if previous is None or int(now // job.period) != int(previous // job.period):
                expected[job.kind] += tenant_count if job.per_tenant else 1
        return expected

    made = await tick(day + 10)
    assert Counter(r["kind"] for r in made) == due(day + 10, None)
    assert {"maintenance", "cleanup", "backup"} <= {r["kind"] for r in made}
    assert {r["tenant_id"] for r in made if r["kind"] == "maintenance"} == set(await tenants.all_ids(rt.deps))
    assert [r["tenant_id"] for r in made if r["kind"] == "backup"] == [None]

    assert await tick(day + 20) == []  # the same periods: nothing more
    assert await tick(day + j.maintenance_every - 1) == []

    made = await tick(day + j.maintenance_every + 10)  # the next maintenance period only
    assert Counter(r["kind"] for r in made) == {"maintenance": tenant_count}
    assert await tick(day + j.maintenance_every + 20) == []

    made = await tick(day + DAY + 10)  # the next day: each once again
    assert Counter(r["kind"] for r in made) == due(day + DAY + 10, day + j.maintenance_every + 20)
    assert Counter(r["kind"] for r in made)["backup"] == 1
