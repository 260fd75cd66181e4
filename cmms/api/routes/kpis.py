"""Maintenance KPIs: MTTR, MTBF, PM compliance, planned share, backlog, counts, downtime by asset."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, json, read_query
from cmms.domain.kpi import KpiQuery, Kpis
from cmms.services import kpis

routes = RouteTable("kpis")


@routes.route(
    "GET",
    "/api/v1/kpis",
    summary="Maintenance KPIs for a period [from, to) (default the last 30 days) and optional plant",
    query=KpiQuery,
    response=Kpis,
    errors=(403,),
)
async def get_kpis(request: web.Request) -> web.Response:
    query = read_query(request, KpiQuery)
    result = await kpis.compute(
        request.app[DEPS], request[ACTOR], start=query.from_, end=query.to, plant_id=query.plant_id
    )
    return json(result.as_json())
