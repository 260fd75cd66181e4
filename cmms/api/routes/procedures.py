"""Procedures (checklist templates) and the checklist of a work order."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, json, page, path_id, read_body, read_query, resource
from cmms.domain.checklist import (
    AttachIn,
    Checklist,
    ChecklistItem,
    ItemRecordIn,
    Procedure,
    ProcedureIn,
    ProcedurePatch,
)
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import checklists, procedures

routes = RouteTable("procedures")


@routes.route(
    "GET",
    "/api/v1/procedures",
    summary="List procedures (staff)",
    query=PageQuery,
    response=Page[Procedure],
    errors=(403,),
)
async def list_procedures(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    return page(*await procedures.list_procedures(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST",
    "/api/v1/procedures",
    summary="Create a procedure: a checklist template (admin, manager)",
    body=ProcedureIn,
    response=Procedure,
    status=201,
    errors=(403,),
)
async def create_procedure(request: web.Request) -> web.Response:
    data = await read_body(request, ProcedureIn)
    return resource(await procedures.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/procedures/{id}", summary="One procedure (staff)", response=Procedure, errors=(403, 404))
async def get_procedure(request: web.Request) -> web.Response:
    return resource(await procedures.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/procedures/{id}",
    summary="Edit a procedure, making a new revision (admin, manager; If-Match: version)",
    body=ProcedurePatch,
    response=Procedure,
    errors=(403, 404, 412),
)
async def update_procedure(request: web.Request) -> web.Response:
    procedure_id, version = path_id(request), if_match(request)
    data = await read_body(request, ProcedurePatch)
    return resource(await procedures.update(request.app[DEPS], request[ACTOR], procedure_id, data, version))


@routes.route(
    "DELETE",
    "/api/v1/procedures/{id}",
    summary="Delete a procedure no plan uses; orders keep their checklists (admin, manager)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def delete_procedure(request: web.Request) -> web.Response:
    await procedures.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/v1/orders/{id}/checklist",
    summary="The checklist of a work order, with what is still required (staff)",
    response=Checklist,
    errors=(403, 404),
)
async def get_checklist(request: web.Request) -> web.Response:
    return json(await checklists.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/checklist",
    summary="Attach a procedure to a work order as its checklist (a snapshot of its revision)",
    body=AttachIn,
    response=Checklist,
    status=201,
    errors=(403, 404, 409),
)
async def attach_checklist(request: web.Request) -> web.Response:
    order_id = path_id(request)
    data = await read_body(request, AttachIn)
    return json(await checklists.attach(request.app[DEPS], request[ACTOR], order_id, data), status=201)


@routes.route(
    "PATCH",
    "/api/v1/orders/{id}/checklist/items/{item_id}",
    summary="Record one checklist item: value (checked by type) and notes (If-Match: the item's version)",
    body=ItemRecordIn,
    response=ChecklistItem,
    errors=(403, 404, 409, 412),
)
async def record_checklist_item(request: web.Request) -> web.Response:
    order_id, item_id, version = path_id(request), path_id(request, "item_id"), if_match(request)
    data = await read_body(request, ItemRecordIn)
    out = await checklists.record_item(request.app[DEPS], request[ACTOR], order_id, item_id, data, version)
    return resource(out)
