"""Preventive-maintenance plans."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.model import PlanIn, PlanPatch
from cmms.domain.model_outputs import Page, Plan
from cmms.domain.model_queries import PlanQuery
from cmms.services import plans

routes = RouteTable("plans")


@routes.route(
    "GET",
    "/api/v1/plans",
    summary="List maintenance plans (staff)",
    query=PlanQuery,
    response=Page[Plan],
    errors=(403,),
)
async def list_plans(request: web.Request) -> web.Response:
    query = read_query(request, PlanQuery)
    return page(*await plans.list_plans(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST",
    "/api/v1/plans",
    summary="Create a maintenance plan (admin, manager)",
    body=PlanIn,
    response=Plan,
    status=201,
    errors=(403, 422),
)
async def create_plan(request: web.Request) -> web.Response:
    data = await read_body(request, PlanIn)
    return resource(await plans.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/plans/{id}", summary="One maintenance plan (staff)", response=Plan, errors=(403, 404))
async def get_plan(request: web.Request) -> web.Response:
    return resource(await plans.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/plans/{id}",
    summary="Change a maintenance plan (admin, manager; If-Match: version)",
    body=PlanPatch,
    response=Plan,
    errors=(403, 404, 412, 422),
)
async def update_plan(request: web.Request) -> web.Response:
    plan_id, version = path_id(request), if_match(request)
    data = await read_body(request, PlanPatch)
    return resource(await plans.update(request.app[DEPS], request[ACTOR], plan_id, data, version))


@routes.route(
    "DELETE",
    "/api/v1/plans/{id}",
    summary="Delete a maintenance plan that has no work orders (admin, manager)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def delete_plan(request: web.Request) -> web.Response:
    await plans.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)
