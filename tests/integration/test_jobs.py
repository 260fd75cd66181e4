"""The job machinery on the real PostgreSQL and Redis: validation at enqueue, visibility, retries
that really wait, cancellation, duplicate deliveries and the lost-worker sweeper.

Processors here are small test doubles handed to a real Worker; the real processors have their
own test modules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from cmms.domain.jobs import JobIn, JobKind
from cmms.domain.roles import Actor, Role
from cmms.jobs.context import JobContext, JobResult
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.schedule import Scheduler
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from tests.integration.support import Tenant, assert_problem, ok


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], int | None]] = []

    async def __call__(self, data: dict[str, Any], user_id: int | None) -> None:
        self.events.append((data, user_id))


class DirectQueue:
    """Runs a submitted job at once on the given worker, recording when it was handed over."""

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.submitted: list[tuple[float, int]] = []

    async def submit(self, job_id: int, tenant_id: int | None) -> None:
        self.submitted.append((time.monotonic(), job_id))
        assert self.worker is not None
        asyncio.get_running_loop().create_task(self.worker.run(job_id, tenant_id))


@pytest.fixture
async def redis_client(rt: Runtime) -> Any:
    client = aioredis.Redis.from_url(rt.redis_url)
    yield client
    await client.aclose()


def make_worker(
    rt: Runtime, redis_client: Any, registry: dict[JobKind, Any], *, retry_base: float = 0.2, queue: Any = None
) -> tuple[Worker, Recorder, Any]:
    jobs = dataclasses.replace(rt.settings.jobs, retry_base=retry_base, heartbeat_every=0.2)
    deps = dataclasses.replace(rt.deps, settings=dataclasses.replace(rt.settings, jobs=jobs))
    emit = Recorder()
    queue = queue or rt.job_system.queue
    worker = Worker(deps, rt.data_dir, emit, DelayedJobs(redis_client, queue), registry)
    return worker, emit, deps


async def start(rt: Runtime, tenant: Tenant, kind: str = "cache", who: str = "manager") -> dict[str, Any]:
    actor = Actor(tenant.id, tenant.users[who]["id"], Role(who))
    return await jobs_service.create(rt.deps, actor, JobIn(kind=JobKind(kind)))


async def job_row(rt: Runtime, tenant: Tenant, job_id: int) -> dict[str, Any]:
    rows = await tenant.sql("SELECT * FROM jobs WHERE id = %s", (job_id,))
    return rows[0]


async def until_status(rt: Runtime, tenant: Tenant, job_id: int, status: str, within: float) -> dict[str, Any]:
    """The job's row once it reaches `status`, or as it is after `within` seconds."""
    for _ in range(int(within / 0.05)):
        row = await job_row(rt, tenant, job_id)
        if row["status"] == status:
            break
        await asyncio.sleep(0.05)
    return row


# ---- enqueue ----------------------------------------------------------------------------------


async def test_unknown_kinds_and_bad_params_are_refused_at_enqueue(tenant: Tenant) -> None:
    assert_problem(await tenant["manager"].post("/api/v1/jobs", {"kind": "nope"}), 422, "kind")
    reply = await tenant["manager"].post("/api/v1/jobs", {"kind": "reports", "params": {"format": "pdf"}})
    assert_problem(reply, 422, "params.format")
    reply = await tenant["manager"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "x"}})
    assert_problem(reply, 422, "params.entity")
    reply = await tenant["manager"].post("/api/v1/jobs", {"kind": "email", "params": {"template": "order_assigned"}})
    assert_problem(reply, 422)
    assert_problem(await tenant["manager"].post("/api/v1/jobs", {"kind": "cache", "params": {"x": 1}}), 422, "params.x")
    assert (await tenant.sql("SELECT count(*) AS n FROM jobs"))[0]["n"] == 0  # nothing queued


async def test_who_may_start_what(tenant: Tenant) -> None:
    assert_problem(await tenant["admin"].post("/api/v1/jobs", {"kind": "backup"}), 403)
    assert_problem(
        await tenant["requester"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 403
    )
    assert_problem(await tenant["technician"].post("/api/v1/jobs", {"kind": "maintenance"}), 403)
    reply = await tenant["technician"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "audit"}})
    assert_problem(reply, 403, "params.entity")
    job = ok(await tenant["technician"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "assets"}}), 202)
    assert job["status"] == "queued"


async def test_users_see_their_own_jobs_and_supervisors_all(tenant: Tenant, other: Tenant) -> None:
    mine = ok(await tenant["technician"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    theirs = ok(await tenant["manager"].post("/api/v1/jobs", {"kind": "cache"}), 202)
    listed = [j["id"] for j in ok(await tenant["technician"].get("/api/v1/jobs"))["items"]]
    assert mine["id"] in listed and theirs["id"] not in listed
    assert_problem(await tenant["technician"].get(f"/api/v1/jobs/{theirs['id']}"), 404)
    everything = [j["id"] for j in ok(await tenant["manager"].get("/api/v1/jobs"))["items"]]
    assert {mine["id"], theirs["id"]} <= set(everything)
    assert_problem(await other["admin"].get(f"/api/v1/jobs/{mine['id']}"), 404)
    assert_problem(await other["admin"].delete(f"/api/v1/jobs/{mine['id']}"), 404)


# ---- running ----------------------------------------------------------------------------------


async def test_a_job_runs_once_and_a_duplicate_delivery_does_nothing(
    rt: Runtime, tenant: Tenant, redis_client: Any
) -> None:
    runs = 0

    async def processor(ctx: JobContext, params: Any) -> JobResult:
        nonlocal runs
        runs += 1
        await ctx.progress(0.5, "half way", force=True)
        return JobResult(summary={"ok": True})

    worker, emit, _ = make_worker(rt, redis_client, {JobKind.CACHE: processor})
    job = await start(rt, tenant)
    await asyncio.gather(worker.run(job["id"], tenant.id), worker.run(job["id"], tenant.id))
    await worker.run(job["id"], tenant.id)
    row = await job_row(rt, tenant, job["id"])
    assert runs == 1
    assert (row["status"], row["attempts"], row["progress"], row["result"]) == ("completed", 1, 1.0, {"ok": True})
    statuses = [(e["status"], e["progress"]) for e, user in emit.events if user == tenant.users["manager"]["id"]]
    assert statuses[0] == ("running", 0.0) and ("running", 0.5) in statuses and statuses[-1] == ("completed", 1.0)


async def test_failures_retry_after_a_real_wait_then_fail_with_the_error(
    rt: Runtime, tenant: Tenant, redis_client: Any
) -> None:
    attempts: list[float] = []

    async def flaky(ctx: JobContext, params: Any) -> JobResult:
        attempts.append(time.monotonic())
        raise RuntimeError(f"boom {len(attempts)}")

    queue = DirectQueue()
    worker, _, _ = make_worker(rt, redis_client, {JobKind.CACHE: flaky}, retry_base=0.4, queue=queue)
    queue.worker = worker
    pump = asyncio.create_task(DelayedJobs(redis_client, queue).pump(interval=0.05))
    try:
        job = await start(rt, tenant)
        await worker.run(job["id"], tenant.id)
        row = await until_status(rt, tenant, job["id"], "failed", 10)
    finally:
        pump.cancel()
    assert row["status"] == "failed", row
    assert row["attempts"] == 3 and row["error"] == "RuntimeError: boom 3"
    assert len(attempts) == 3
    first_wait, second_wait = attempts[1] - attempts[0], attempts[2] - attempts[1]
    assert first_wait >= 0.4 * 0.5  # attempt 1: base ± 50 %
    assert second_wait >= 0.8 * 0.5  # attempt 2: twice the base ± 50 %


async def test_a_retry_that_succeeds_completes(rt: Runtime, tenant: Tenant, redis_client: Any) -> None:
    calls = 0

    async def second_time_lucky(ctx: JobContext, params: Any) -> JobResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk hiccup")
        return JobResult(summary={"calls": calls})

    queue = DirectQueue()
    worker, _, _ = make_worker(rt, redis_client, {JobKind.CACHE: second_time_lucky}, retry_base=0.1, queue=queue)
    queue.worker = worker
    pump = asyncio.create_task(DelayedJobs(redis_client, queue).pump(interval=0.05))
    try:
        job = await start(rt, tenant)
        await worker.run(job["id"], tenant.id)
        row = await until_status(rt, tenant, job["id"], "completed", 5)
    finally:
        pump.cancel()
    assert (row["status"], row["attempts"], row["result"]) == ("completed", 2, {"calls": 2})


async def test_cancel_a_queued_job_and_a_running_one_leaving_no_file(
    rt: Runtime, tenant: Tenant, redis_client: Any
) -> None:
    queued = ok(await tenant["manager"].post("/api/v1/jobs", {"kind": "cache"}), 202)
    assert ok(await tenant["manager"].delete(f"/api/v1/jobs/{queued['id']}"))["status"] == "cancelled"
    assert_problem(await tenant["manager"].delete(f"/api/v1/jobs/{queued['id']}"), 409)

    started = asyncio.Event()
    written: list[Path] = []

    async def slow_export(ctx: JobContext, params: Any) -> JobResult:
        temp, final = ctx.output(".csv")
        temp.write_text("half,a,file\n")
        written.append(temp)
        started.set()
        for i in range(200):
            await asyncio.sleep(0.02)
            await ctx.progress(i / 200, force=True)
        return JobResult(summary={}, path=final, content_type="text/csv")

    worker, _, _ = make_worker(rt, redis_client, {JobKind.CACHE: slow_export})
    job = await start(rt, tenant)
    running = asyncio.create_task(worker.run(job["id"], tenant.id))
    await started.wait()
    ok(await tenant["manager"].delete(f"/api/v1/jobs/{job['id']}"))
    await asyncio.wait_for(running, 5)
    row = await job_row(rt, tenant, job["id"])
    assert row["status"] == "cancelled"
    assert not written[0].exists()
    assert not list(written[0].parent.glob(f"job-{job['id']}*"))
    assert_problem(await tenant["manager"].get(f"/api/v1/jobs/{job['id']}/result"), 409)


async def test_a_result_file_is_served_once_completed(rt: Runtime, tenant: Tenant, redis_client: Any) -> None:
    async def export(ctx: JobContext, params: Any) -> JobResult:
        temp, final = ctx.output(".csv")
        temp.write_text("id,name\n1,Pump\n")
        return JobResult(summary={"rows": 1}, path=final, content_type="text/csv")

    worker, _, _ = make_worker(rt, redis_client, {JobKind.CACHE: export})
    job = await start(rt, tenant)
    await worker.run(job["id"], tenant.id)
    reply = await tenant["manager"].get(f"/api/v1/jobs/{job['id']}/result")
    assert reply.status == 200 and reply.content_type == "text/csv" and reply.text == "id,name\n1,Pump\n"


async def test_a_lost_worker_s_job_is_handed_out_again_and_completes_once(
    rt: Runtime, tenant: Tenant, redis_client: Any
) -> None:
    """A worker that dies mid-job stops beating; the sweeper requeues and re-sends the job."""
    runs = 0

    async def processor(ctx: JobContext, params: Any) -> JobResult:
        nonlocal runs
        runs += 1
        return JobResult(summary={"runs": runs})

    job = await start(rt, tenant)
    claimed = await jobs_service.claim(rt.deps, job["id"], tenant.id)  # a worker took it, then died
    assert claimed is not None
    queue = DirectQueue()
    worker, _, deps = make_worker(rt, redis_client, {JobKind.CACHE: processor}, queue=queue)
    queue.worker = worker
    deps = dataclasses.replace(deps, jobs=queue)
    scheduler = Scheduler(deps, redis_client, [], heartbeat_timeout=1, queued_timeout=3600)
    await asyncio.sleep(1.2)
    await scheduler.once()
    row = await until_status(rt, tenant, job["id"], "completed", 5)
    assert (row["status"], row["attempts"], runs) == ("completed", 2, 1)
    await scheduler.once()  # nothing left to re-send
    await asyncio.sleep(0.2)
    assert runs == 1
