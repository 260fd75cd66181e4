"""Jobs as users see them (enqueue, list, cancel, fetch the result) and as workers drive them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cmms.db.pool import transaction
from cmms.db.repos import jobs as repo
from cmms.db.repos import periodic, tenants
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cmms.domain.jobs import SYSTEM_ONLY, JobIn, JobKind, JobQuery, JobStatus, params_model
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.files.base import file_chunks
from cmms.services import exports
from cmms.services.common import record
from cmms.services.deps import Deps

log = logging.getLogger(__name__)
Page = tuple[list[dict[str, Any]], str | None]
MAX_ATTEMPTS = 3
# Who may start which kind: staff run reports and exports; supervisors the rest.
STAFF_KINDS = frozenset({JobKind.REPORTS, JobKind.EXPORTS})


def validate_params(kind: JobKind, params: dict[str, Any]) -> dict[str, Any]:
    try:
        model = params_model(kind, params).model_validate(params)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in ("params", *first["loc"]))
        raise ValidationFailed(f"{loc}: {first['msg']}", field=loc) from None
    return dict(model.model_dump(mode="json", by_alias=True, exclude_none=True))


async def create(deps: Deps, actor: Actor, data: JobIn) -> dict[str, Any]:
    if data.kind in SYSTEM_ONLY and actor.user_id is not None:
        raise Forbidden(f"{data.kind} jobs cover every tenant; operators run them (cmms {data.kind})")
    allowed = STAFF if data.kind in STAFF_KINDS else SUPERVISORS
    if actor.role not in allowed:
        raise Forbidden(f"a {actor.role} may not start {data.kind} jobs")
    params = validate_params(data.kind, data.params)
    if data.kind == JobKind.EXPORTS:
        if params.get("operation") == "import":
            if not actor.is_supervisor:
                raise Forbidden("importing assets is for admins and managers", field="params.operation")
        else:
            exports.filters_of(params["entity"], params.get("filters", {}), prefix="params.filters")
            if params["entity"] == "audit" and not actor.is_supervisor:
                raise Forbidden("the audit trail is for admins and managers", field="params.entity")
    # The scheduler's operator (tenant 0) starts system-scope jobs, e.g. cleanup of system jobs.
    system = data.kind in SYSTEM_ONLY or (actor.tenant_id == 0 and actor.user_id is None)
    tenant_id = None if system else actor.tenant_id
    async with transaction(deps.pool, tenant_id) as cur:
        job = await repo.insert(cur, tenant_id, data.kind, params, actor.user_id, MAX_ATTEMPTS)
        if tenant_id is not None:
            summary = {"kind": data.kind, "params": _loggable(params)}
            audience = ev.user_audience(actor.user_id) if actor.user_id else ev.SUPERVISOR_ROOMS
            await record(
                cur,
                actor,
                action="create",
                entity="job",
                entity_id=job["id"],
                changes=summary,
                event=ev.Event(ev.JOB_QUEUED, job, audience),
            )
    await submit(deps, job["id"], tenant_id)
    return job


async def submit(deps: Deps, job_id: int, tenant_id: int | None) -> None:
    """Hand a job to the workers; if Redis is unreachable it stays queued and the sweeper re-sends it."""
    try:
        await deps.jobs.submit(job_id, tenant_id)
    except Exception:
        log.warning("could not hand job %s to the queue; it stays queued", job_id, exc_info=True)


def _loggable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<{len(v)} characters>" if k == "csv" else v) for k, v in params.items()}


async def list_jobs(deps: Deps, actor: Actor, query: JobQuery) -> Page:
    own = None if actor.is_supervisor else actor.user_id
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.list_page(cur, actor.tenant_id, own, query.status, query.kind, query.limit, query.cursor)


async def _visible(deps: Deps, actor: Actor, job_id: int, *, private: bool = False) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        job = await repo.get(cur, job_id, private=private)
    if (
        job is None
        or job["tenant_id"] != actor.tenant_id
        or not (actor.is_supervisor or job["requested_by"] == actor.user_id)
    ):
        raise NotFound(f"job {job_id} not found")
    return job


async def get(deps: Deps, actor: Actor, job_id: int) -> dict[str, Any]:
    return await _visible(deps, actor, job_id)


async def cancel(deps: Deps, actor: Actor, job_id: int) -> dict[str, Any]:
    await _visible(deps, actor, job_id)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        job = await repo.cancel(cur, job_id)
        if job is None:
            raise Conflict("the job has already finished")
        await record(cur, actor, action="cancel", entity="job", entity_id=job_id, changes={"status": job["status"]})
    return job


@dataclass(frozen=True)
class ResultFile:
    name: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def result_file(deps: Deps, actor: Actor, job_id: int) -> ResultFile:
    """A completed job's output from the file store, whichever node's worker produced it."""
    job = await _visible(deps, actor, job_id, private=True)
    if job["status"] != JobStatus.COMPLETED:
        raise Conflict(f"the job is {job['status']}; a result exists once it has completed")
    if not job["result_path"]:
        raise NotFound("this job produced no file")
    content_type = job["result_type"] or "application/octet-stream"
    if job["result_key"] is None:  # written before results moved to the store: on this node's disk, if at all
        path = Path(job["result_path"])
        if not await asyncio.to_thread(path.is_file):
            raise NotFound("the result file is gone (past retention)")
        on_disk = (await asyncio.to_thread(path.stat)).st_size
        return ResultFile(path.name, content_type, on_disk, file_chunks(path))
    scope = job["tenant_id"]
    size = await deps.files.size(scope, job["result_key"])
    if size is None:
        raise NotFound("the result file is gone (past retention)")
    return ResultFile(job["result_path"], content_type, size, deps.files.read(scope, job["result_key"]))


# ---- what workers call ------------------------------------------------------------------------


async def claim(deps: Deps, job_id: int, tenant_id: int | None) -> dict[str, Any] | None:
    async with transaction(deps.pool, tenant_id) as cur:
        return await repo.claim(cur, job_id)


async def beat(
    deps: Deps, job_id: int, tenant_id: int | None, progress: float | None = None, message: str | None = None
) -> bool:
    """Heartbeat and progress; True when the job should stop (cancelled)."""
    async with transaction(deps.pool, tenant_id) as cur:
        return await repo.beat(cur, job_id, progress, message)


async def finish(
    deps: Deps, job_id: int, tenant_id: int | None, status: JobStatus, **values: Any
) -> dict[str, Any] | None:
    async with transaction(deps.pool, tenant_id) as cur:
        return await repo.finish(cur, job_id, status, **values)


async def stale_jobs(deps: Deps, heartbeat_seconds: int, queued_seconds: int) -> list[dict[str, Any]]:
    """Jobs to hand out again, in every tenant and the system scope."""
    found: list[dict[str, Any]] = []
    async with transaction(deps.pool, None) as cur:
        tenant_ids: list[int | None] = [None, *await tenants.all_ids(cur)]
    for tenant_id in tenant_ids:
        async with transaction(deps.pool, tenant_id) as cur:
            for job in await repo.stale(cur, heartbeat_seconds, queued_seconds):
                if job["status"] == JobStatus.RUNNING and not await repo.requeue_stale(
                    cur, job["id"], heartbeat_seconds
                ):
                    continue
                await repo.touch_queued(cur, job["id"])
                found.append(job)
    return found


async def queued_jobs(deps: Deps) -> list[dict[str, Any]]:
    """Every queued job of every tenant and the system scope: what a lost queue must get back."""
    found: list[dict[str, Any]] = []
    async with transaction(deps.pool, None) as cur:
        tenant_ids: list[int | None] = [None, *await tenants.all_ids(cur)]
    for tenant_id in tenant_ids:
        async with transaction(deps.pool, tenant_id) as cur:
            found += await repo.queued(cur)
    return found


async def claim_period(deps: Deps, name: str, slot: int) -> bool:
    """True for the one scheduler that runs periodic job `name` in period `slot`."""
    async with transaction(deps.pool, None) as cur:
        return await periodic.claim(cur, name, slot)
