"""Liveness, readiness (per dependency) and Prometheus metrics."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from cmms.api.keys import METRICS, READINESS
from cmms.api.routing import RouteTable, json

routes = RouteTable("health")


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    """Per dependency: `ok`, and `ms` or `error` (search also names its backend)."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, dict[str, Any]]


@routes.route("GET", "/health/live", summary="The process is up", response=Liveness, public=True, dependencies=False)
async def live(request: web.Request) -> web.Response:
    return json({"status": "ok"})


@routes.route(
    "GET",
    "/health/ready",
    summary="Every dependency answers (503 otherwise, with the same report)",
    response=Readiness,
    public=True,
    dependencies=False,  # its 503 is the report below, not a problem document
    responses={503: Readiness},
)
async def ready(request: web.Request) -> web.Response:
    checks: dict[str, Any] = await request.app[READINESS]()
    ok = all(c.get("ok") for c in checks.values())
    return json({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


@routes.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    public=True,
    content_types=("text/plain",),
    dependencies=False,
)
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    return web.Response(body=m.render(), headers={"Content-Type": m.content_type})
