"""The stock ledger: post a move, read moves, a part's stock per location."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, json, page, path_id, read_body, read_query
from cmms.domain.inventory import LowStockList, Move, MoveIn, MoveQuery, PartQuery, PartStock, PartWithStock
from cmms.domain.model_outputs import Page
from cmms.services import stock, stock_view

routes = RouteTable("stock")


@routes.route(
    "POST",
    "/api/v1/stock/moves",
    summary="Post a stock move (issue/return: staff; receive/adjust/transfer: supervisors); never below zero (409)",
    body=MoveIn,
    response=Move,
    status=201,
    errors=(403, 409, 422),
)
async def post_move(request: web.Request) -> web.Response:
    data = await read_body(request, MoveIn)
    return json(await stock.move(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route(
    "GET",
    "/api/v1/stock/moves",
    summary="The ledger, newest first, by part, work order or location (staff)",
    query=MoveQuery,
    response=Page[Move],
    errors=(403,),
)
async def list_moves(request: web.Request) -> web.Response:
    return page(*await stock.list_moves(request.app[DEPS], request[ACTOR], read_query(request, MoveQuery)))


@routes.route(
    "GET",
    "/api/v1/parts/{id}/stock",
    summary="A part's stock per location (on hand, reserved, available) and its average cost (staff)",
    response=PartStock,
    errors=(403, 404),
)
async def part_stock(request: web.Request) -> web.Response:
    return json(await stock.part_stock(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "GET",
    "/api/v1/stock/low",
    summary="Where available stock is below the part's minimum, with the reorder quantity to suggest (staff)",
    response=LowStockList,
    errors=(403,),
)
async def low_stock(request: web.Request) -> web.Response:
    return json({"items": await stock.low_stock(request.app[DEPS], request[ACTOR])})


@routes.route(
    "GET",
    "/api/v1/stock/parts",
    summary="Parts, newest first, each with its stock per location and whether any is low (staff)",
    query=PartQuery,
    response=Page[PartWithStock],
    errors=(403,),
)
async def parts_with_stock(request: web.Request) -> web.Response:
    query = read_query(request, PartQuery)
    return page(*await stock_view.parts_with_stock(request.app[DEPS], request[ACTOR], query))
