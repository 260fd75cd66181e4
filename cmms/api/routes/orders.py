"""Work orders: list, create, edit, the workflow transition, notes and history."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, json, page, path_id, read_body, read_query, resource
from cmms.domain.model import NoteIn, OrderIn, OrderPatch, TransitionIn
from cmms.domain.model_outputs import AuditEntry, Note, Order, Page
from cmms.domain.model_queries import OrderQuery, PageQuery
from cmms.services import orders

routes = RouteTable("orders")


@routes.route(
    "GET",
    "/api/v1/orders",
    summary="List work orders (requesters see their own)",
    query=OrderQuery,
    response=Page[Order],
)
async def list_orders(request: web.Request) -> web.Response:
    query = read_query(request, OrderQuery)
    return page(*await orders.list_orders(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST",
    "/api/v1/orders",
    summary="Create a work order or a request",
    body=OrderIn,
    response=Order,
    status=201,
    errors=(403,),
)
async def create_order(request: web.Request) -> web.Response:
    data = await read_body(request, OrderIn)
    return resource(await orders.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route(
    "GET",
    "/api/v1/orders/{id}",
    summary="One work order, with the transitions the caller may take",
    response=Order,
    errors=(404,),
)
async def get_order(request: web.Request) -> web.Response:
    return resource(await orders.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/orders/{id}",
    summary="Edit a work order (If-Match: version)",
    body=OrderPatch,
    response=Order,
    errors=(403, 404, 409, 412),
)
async def update_order(request: web.Request) -> web.Response:
    order_id, version = path_id(request), if_match(request)
    data = await read_body(request, OrderPatch)
    return resource(await orders.update(request.app[DEPS], request[ACTOR], order_id, data, version))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/transition",
    summary="Move a work order through its workflow",
    body=TransitionIn,
    response=Order,
    errors=(403, 404, 409, 412),
    if_match=True,
)
async def transition_order(request: web.Request) -> web.Response:
    order_id, version = path_id(request), if_match(request)
    data = await read_body(request, TransitionIn)
    return resource(await orders.transition(request.app[DEPS], request[ACTOR], order_id, data, version))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/notes",
    summary="Add a note to a work order",
    body=NoteIn,
    response=Note,
    status=201,
    errors=(403, 404),
)
async def add_note(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, NoteIn)
    return json(await orders.add_note(request.app[DEPS], request[ACTOR], order_id, data), status=201)


@routes.route(
    "GET",
    "/api/v1/orders/{id}/notes",
    summary="Notes of a work order, newest first",
    query=PageQuery,
    response=Page[Note],
    errors=(404,),
)
async def list_notes(request: web.Request) -> web.Response:
    order_id, query = path_id(request), read_query(request, PageQuery)
    return page(*await orders.notes(request.app[DEPS], request[ACTOR], order_id, query))


@routes.route(
    "GET",
    "/api/v1/orders/{id}/history",
    summary="Audit trail of a work order, newest first",
    query=PageQuery,
    response=Page[AuditEntry],
    errors=(404,),
)
async def order_history(request: web.Request) -> web.Response:
    order_id, query = path_id(request), read_query(request, PageQuery)
    return page(*await orders.history(request.app[DEPS], request[ACTOR], order_id, query))
