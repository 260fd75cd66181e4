"""Alerts."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.model import AlertIn
from cmms.domain.model_outputs import Alert, Page
from cmms.domain.model_queries import AlertQuery
from cmms.services import alerts

routes = RouteTable("alerts")


@routes.route(
    "GET", "/api/v1/alerts", summary="List alerts (staff)", query=AlertQuery, response=Page[Alert], errors=(403,)
)
async def list_alerts(request: web.Request) -> web.Response:
    query = read_query(request, AlertQuery)
    return page(*await alerts.list_alerts(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST",
    "/api/v1/alerts",
    summary="Raise an alert (staff, integrations, sensor gateways)",
    body=AlertIn,
    response=Alert,
    status=201,
    errors=(403, 422),
)
async def create_alert(request: web.Request) -> web.Response:
    data = await read_body(request, AlertIn)
    return resource(await alerts.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/alerts/{id}", summary="One alert (staff)", response=Alert, errors=(403, 404))
async def get_alert(request: web.Request) -> web.Response:
    return resource(await alerts.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "POST",
    "/api/v1/alerts/{id}/ack",
    summary="Acknowledge an open alert (staff; If-Match: version)",
    response=Alert,
    errors=(403, 404, 409, 412, 422),
    if_match=True,
)
async def acknowledge_alert(request: web.Request) -> web.Response:
    alert_id, version = path_id(request), if_match(request)
    return resource(await alerts.acknowledge(request.app[DEPS], request[ACTOR], alert_id, version))


@routes.route(
    "POST",
    "/api/v1/alerts/{id}/resolve",
    summary="Resolve an open or acknowledged alert (staff; If-Match: version)",
    response=Alert,
    errors=(403, 404, 409, 412, 422),
    if_match=True,
)
async def resolve_alert(request: web.Request) -> web.Response:
    alert_id, version = path_id(request), if_match(request)
    return resource(await alerts.resolve(request.app[DEPS], request[ACTOR], alert_id, version))
