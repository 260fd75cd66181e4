"""Time on work orders (timer, entries), other cost lines and the order's cost summary."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, json, page, path_id, read_body, read_query, resource
from cmms.domain.costing import (
    CostIn,
    CostLine,
    CostSummary,
    MyTimer,
    TimeEntry,
    TimeEntryIn,
    TimerStarted,
    TimerStartIn,
)
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import costs, timekeeping

routes = RouteTable("time and cost")


@routes.route("GET", "/api/v1/me/timer", summary="The caller's running timer, if any", response=MyTimer)
async def my_timer(request: web.Request) -> web.Response:
    return json(await timekeeping.my_timer(request.app[DEPS], request[ACTOR]))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/timer/start",
    summary="Start the caller's timer on a work order (stops and records one running elsewhere); body optional",
    body=TimerStartIn,
    response=TimerStarted,
    errors=(403, 404, 409),
)
async def start_timer(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, TimerStartIn) if await request.read() else TimerStartIn()
    return json(await timekeeping.start(request.app[DEPS], request[ACTOR], order_id, data))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/timer/stop",
    summary="Stop the caller's timer on a work order, recording its time entry",
    response=TimeEntry,
    status=201,
    errors=(403, 404, 409),
)
async def stop_timer(request: web.Request) -> web.Response:
    return resource(await timekeeping.stop(request.app[DEPS], request[ACTOR], path_id(request)), status=201)


@routes.route(
    "GET",
    "/api/v1/orders/{id}/time",
    summary="Time entries of a work order, newest first (staff)",
    query=PageQuery,
    response=Page[TimeEntry],
    errors=(403, 404),
)
async def list_time(request: web.Request) -> web.Response:
    order_id, query = path_id(request), read_query(request, PageQuery)
    return page(*await timekeeping.list_entries(request.app[DEPS], request[ACTOR], order_id, query))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/time",
    summary="Record time on a work order by hand (1 to 1440 minutes)",
    body=TimeEntryIn,
    response=TimeEntry,
    status=201,
    errors=(403, 404, 409),
)
async def add_time(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, TimeEntryIn)
    return resource(await timekeeping.add(request.app[DEPS], request[ACTOR], order_id, data), status=201)


@routes.route(
    "DELETE",
    "/api/v1/orders/{id}/time/{entry_id}",
    summary="Delete a time entry (its author or a supervisor; If-Match: the entry's version)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def delete_time(request: web.Request) -> web.Response:
    order_id, entry_id = path_id(request), path_id(request, "entry_id")
    await timekeeping.delete(request.app[DEPS], request[ACTOR], order_id, entry_id, if_match(request))
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/v1/orders/{id}/costs",
    summary="Other cost lines of a work order, newest first (staff)",
    query=PageQuery,
    response=Page[CostLine],
    errors=(403, 404),
)
async def list_costs(request: web.Request) -> web.Response:
    order_id, query = path_id(request), read_query(request, PageQuery)
    return page(*await costs.list_costs(request.app[DEPS], request[ACTOR], order_id, query))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/costs",
    summary="Add a cost line (contractor, material, other; amount as a decimal string)",
    body=CostIn,
    response=CostLine,
    status=201,
    errors=(403, 404, 409),
)
async def add_cost(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, CostIn)
    return resource(await costs.add(request.app[DEPS], request[ACTOR], order_id, data), status=201)


@routes.route(
    "DELETE",
    "/api/v1/orders/{id}/costs/{cost_id}",
    summary="Delete a cost line (its author or a supervisor; If-Match: the line's version)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def delete_cost(request: web.Request) -> web.Response:
    order_id, cost_id = path_id(request), path_id(request, "cost_id")
    await costs.delete(request.app[DEPS], request[ACTOR], order_id, cost_id, if_match(request))
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/v1/orders/{id}/cost",
    summary="Cost summary of a work order: labour, parts, other, total in the tenant's currency (staff)",
    response=CostSummary,
    errors=(403, 404),
)
async def cost_summary(request: web.Request) -> web.Response:
    return json(await costs.summary(request.app[DEPS], request[ACTOR], path_id(request)))
