"""Liveness, readiness (per dependency) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cmms.api.keys import METRICS, READINESS
from cmms.api.routing import RouteTable, json

routes = RouteTable("health")


@routes.route("GET", "/health/live", summary="The process is up", public=True)
async def live(request: web.Request) -> web.Response:
    return json({"status": "ok"})


@routes.route("GET", "/health/ready", summary="Every dependency answers (503 otherwise)", public=True, errors=(503,))
async def ready(request: web.Request) -> web.Response:
    checks: dict[str, Any] = await request.app[READINESS]()
    ok = all(c.get("ok") for c in checks.values())
    return json({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


@routes.route("GET", "/metrics", summary="Prometheus metrics (text format)", public=True)
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    return web.Response(body=m.render(), headers={"Content-Type": m.content_type})
