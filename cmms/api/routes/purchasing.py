"""Purchase orders: draft, order, cancel, receive (partially or fully)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.model_outputs import Page
from cmms.domain.purchasing import POQuery, POTransitionIn, PurchaseOrder, PurchaseOrderIn, ReceiptIn
from cmms.services import purchasing

routes = RouteTable("purchasing")


@routes.route(
    "GET",
    "/api/v1/purchase-orders",
    summary="Purchase orders, newest first, by status or vendor (staff)",
    query=POQuery,
    response=Page[PurchaseOrder],
    errors=(403,),
)
async def list_purchase_orders(request: web.Request) -> web.Response:
    return page(*await purchasing.list_orders(request.app[DEPS], request[ACTOR], read_query(request, POQuery)))


@routes.route(
    "POST",
    "/api/v1/purchase-orders",
    summary="Draft a purchase order: lines of part, quantity and unit cost from a vendor into a location",
    body=PurchaseOrderIn,
    response=PurchaseOrder,
    status=201,
    errors=(403, 422),
)
async def create_purchase_order(request: web.Request) -> web.Response:
    data = await read_body(request, PurchaseOrderIn)
    return resource(await purchasing.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route(
    "GET", "/api/v1/purchase-orders/{id}", summary="One purchase order", response=PurchaseOrder, errors=(403, 404)
)
async def get_purchase_order(request: web.Request) -> web.Response:
    return resource(await purchasing.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "POST",
    "/api/v1/purchase-orders/{id}/transition",
    summary="Order a draft, or cancel a draft or ordered purchase order (not after a receipt)",
    body=POTransitionIn,
    response=PurchaseOrder,
    errors=(403, 404, 409, 412),
    if_match=True,
)
async def transition_purchase_order(request: web.Request) -> web.Response:
    po_id, version = path_id(request), if_match(request)
    data = await read_body(request, POTransitionIn)
    return resource(await purchasing.transition(request.app[DEPS], request[ACTOR], po_id, data, version))


@routes.route(
    "POST",
    "/api/v1/purchase-orders/{id}/receive",
    summary="Receive some or all of what is outstanding: receive moves at each line's unit cost; no over-receipt",
    body=ReceiptIn,
    response=PurchaseOrder,
    errors=(403, 404, 409, 412),
    if_match=True,
)
async def receive_purchase_order(request: web.Request) -> web.Response:
    po_id, version = path_id(request), if_match(request)
    data = await read_body(request, ReceiptIn)
    return resource(await purchasing.receive(request.app[DEPS], request[ACTOR], po_id, data, version))
