"""Parts on work orders: plan (reserve), issue, remove (release or return)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.inventory import OrderPart, OrderPartIn
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import order_parts

routes = RouteTable("parts on orders")


@routes.route(
    "GET",
    "/api/v1/orders/{id}/parts",
    summary="Part lines of a work order, newest first, with their status and cost (staff)",
    query=PageQuery,
    response=Page[OrderPart],
    errors=(403, 404),
)
async def list_order_parts(request: web.Request) -> web.Response:
    order_id, query = path_id(request), read_query(request, PageQuery)
    return page(*await order_parts.list_lines(request.app[DEPS], request[ACTOR], order_id, query))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/parts",
    summary="Plan a part on a work order: reserves it at a location (available drops, on hand does not)",
    body=OrderPartIn,
    response=OrderPart,
    status=201,
    errors=(403, 404, 409, 422),
)
async def plan_order_part(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, OrderPartIn)
    return resource(await order_parts.plan(request.app[DEPS], request[ACTOR], order_id, data), status=201)


@routes.route(
    "POST",
    "/api/v1/orders/{id}/parts/{line_id}/issue",
    summary="Issue a reserved line: a stock move at the current average cost, kept on the line",
    response=OrderPart,
    errors=(403, 404, 409, 412),
    if_match=True,
)
async def issue_order_part(request: web.Request) -> web.Response:
    order_id, line_id = path_id(request), path_id(request, "line_id")
    return resource(await order_parts.issue(request.app[DEPS], request[ACTOR], order_id, line_id, if_match(request)))


@routes.route(
    "DELETE",
    "/api/v1/orders/{id}/parts/{line_id}",
    summary="Remove a line: releases its reservation, or returns what was issued (If-Match: the line's version)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def remove_order_part(request: web.Request) -> web.Response:
    order_id, line_id = path_id(request), path_id(request, "line_id")
    await order_parts.remove(request.app[DEPS], request[ACTOR], order_id, line_id, if_match(request))
    return web.Response(status=204)
