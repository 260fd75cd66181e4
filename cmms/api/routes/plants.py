"""Plants (sites)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.model import PlantIn, PlantPatch
from cmms.domain.model_outputs import Page, Plant
from cmms.domain.model_queries import PageQuery
from cmms.services import plants

routes = RouteTable("plants")


@routes.route("GET", "/api/v1/plants", summary="List plants", query=PageQuery, response=Page[Plant])
async def list_plants(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    return page(*await plants.list_plants(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST", "/api/v1/plants", summary="Create a plant", body=PlantIn, response=Plant, status=201, errors=(403, 409, 422)
)
async def create_plant(request: web.Request) -> web.Response:
    data = await read_body(request, PlantIn)
    return resource(await plants.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/plants/{id}", summary="One plant", response=Plant, errors=(404,))
async def get_plant(request: web.Request) -> web.Response:
    return resource(await plants.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/plants/{id}",
    summary="Change a plant (If-Match: version)",
    body=PlantPatch,
    response=Plant,
    errors=(403, 404, 409, 412, 422),
)
async def update_plant(request: web.Request) -> web.Response:
    plant_id, version = path_id(request), if_match(request)
    data = await read_body(request, PlantPatch)
    return resource(await plants.update(request.app[DEPS], request[ACTOR], plant_id, data, version))


@routes.route(
    "DELETE", "/api/v1/plants/{id}", summary="Delete a plant without assets", status=204, errors=(403, 404, 409, 412)
)
async def delete_plant(request: web.Request) -> web.Response:
    await plants.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)
