"""Background jobs: start one (202), follow it, cancel it, fetch its result."""

from __future__ import annotations

from typing import Any, Literal, Union

from aiohttp import web
from pydantic import BaseModel, Field, RootModel, create_model

from cmms.api.keys import DEPS
from cmms.api.routing import (
    ACTOR,
    JSON_TYPE,
    RouteTable,
    json,
    page,
    path_id,
    read_body,
    read_query,
    resource,
    streamed,
)
from cmms.domain.files import content_disposition
from cmms.domain.jobs import PARAMS, SYSTEM_ONLY, ImportParams, JobIn, JobKind, JobQuery
from cmms.domain.model_outputs import Page
from cmms.domain.model_types import Input
from cmms.services import jobs

routes = RouteTable("jobs")


def _job_request() -> type[RootModel[Any]]:
    """JobIn as the API takes it: per kind the params its model checks (backup is for operators)."""
    options: list[Any] = []
    for kind, params in PARAMS.items():
        if kind in SYSTEM_ONLY:
            continue
        accepted: Any = params | ImportParams if kind == JobKind.EXPORTS else params
        needed = any(f.is_required() for f in params.model_fields.values())
        default: Any = ... if needed else Field(default_factory=dict)
        name = f"{kind.value.title()}Job"
        options.append(create_model(name, __base__=Input, kind=(Literal[kind.value], ...), params=(accepted, default)))
    base = RootModel[Union[tuple(options)]]  # type: ignore[valid-type]  # noqa: UP007
    return type("JobRequest", (base,), {"__module__": __name__, "__doc__": "A job to start: its kind and params."})


JobRequest = _job_request()
# What job results are stored as (cmms/jobs/tasks: exports, reports), and the fallback for none.
RESULT_TYPES = ("text/csv", "application/json", "text/html", "text/markdown", "application/octet-stream")


class Job(BaseModel):
    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: float
    message: str
    attempts: int
    max_attempts: int
    result: dict[str, Any] | None
    result_type: str | None
    error: str | None
    requested_by: int | None
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    version: int


@routes.route(
    "POST",
    "/api/v1/jobs",
    summary="Start a background job (kind and params)",
    body=JobIn,
    body_content={JSON_TYPE: JobRequest},
    response=Job,
    status=202,
    errors=(403,),
    headers=("Location",),
)
async def create_job(request: web.Request) -> web.Response:
    data = await read_body(request, JobIn)
    job = await jobs.create(request.app[DEPS], request[ACTOR], data)
    response = json(job, status=202, etag=job["version"])
    response.headers["Location"] = f"/api/v1/jobs/{job['id']}"
    return response


@routes.route(
    "GET",
    "/api/v1/jobs",
    summary="Jobs (your own; managers and admins see the tenant's)",
    query=JobQuery,
    response=Page[Job],
)
async def list_jobs(request: web.Request) -> web.Response:
    query = read_query(request, JobQuery)
    return page(*await jobs.list_jobs(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "GET", "/api/v1/jobs/{id}", summary="One job: status, progress, attempts, error", response=Job, errors=(404,)
)
async def get_job(request: web.Request) -> web.Response:
    return resource(await jobs.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "DELETE",
    "/api/v1/jobs/{id}",
    summary="Cancel a job (a running one stops at its next checkpoint)",
    response=Job,
    errors=(404, 409),
    if_match=False,  # a request to stop, not an edit of what the caller read: no version check
)
async def cancel_job(request: web.Request) -> web.Response:
    return resource(await jobs.cancel(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "GET",
    "/api/v1/jobs/{id}/result",
    summary="The output of a completed job: CSV or JSON exports, HTML, Markdown or JSON reports",
    errors=(404, 409),
    content_types=RESULT_TYPES,
    headers=("Content-Disposition",),
)
async def job_result(request: web.Request) -> web.StreamResponse:
    result = await jobs.result_file(request.app[DEPS], request[ACTOR], path_id(request))
    response = streamed(request)
    response.content_type = result.content_type
    response.content_length = result.size
    response.headers["Content-Disposition"] = content_disposition(result.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    await response.prepare(request)
    async for chunk in result.chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
