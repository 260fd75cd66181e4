"""Assets and their meter readings."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from cmms.api.keys import DEPS
from cmms.api.routing import (
    ACTOR,
    JSON_TYPE,
    RouteTable,
    if_match,
    json,
    page,
    path_id,
    read_body,
    read_query,
    resource,
)
from cmms.domain.model import AssetIn, AssetPatch, ReadingsIn
from cmms.domain.model_outputs import Asset, Page, Reading
from cmms.domain.model_queries import AssetQuery, ReadingQuery
from cmms.services import assets, readings

routes = RouteTable("assets")
# `read_body(..., list_field="readings")` also takes the bare array of readings.
READINGS_BODY = {
    "anyOf": [
        {"$ref": "#/components/schemas/ReadingsIn"},
        ReadingsIn.model_json_schema(ref_template="#/components/schemas/{model}")["properties"]["readings"],
    ]
}


class ReadingBatch(BaseModel):
    """The readings a POST stored, in the order sent."""

    items: list[Reading]


@routes.route("GET", "/api/v1/assets", summary="List assets", query=AssetQuery, response=Page[Asset])
async def list_assets(request: web.Request) -> web.Response:
    query = read_query(request, AssetQuery)
    return page(*await assets.list_assets(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "GET",
    "/api/v1/plants/{id}/assets",
    summary="List the assets of a plant",
    query=AssetQuery,
    response=Page[Asset],
    errors=(404,),
)
async def list_plant_assets(request: web.Request) -> web.Response:
    plant_id = path_id(request)
    query = read_query(request, AssetQuery)
    return page(*await assets.list_for_plant(request.app[DEPS], request[ACTOR], plant_id, query))


@routes.route(
    "POST",
    "/api/v1/assets",
    summary="Create an asset",
    body=AssetIn,
    response=Asset,
    status=201,
    errors=(403, 409, 422),
)
async def create_asset(request: web.Request) -> web.Response:
    data = await read_body(request, AssetIn)
    return resource(await assets.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/assets/{id}", summary="One asset", response=Asset, errors=(404,))
async def get_asset(request: web.Request) -> web.Response:
    return resource(await assets.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/assets/{id}",
    summary="Change an asset (If-Match: version)",
    body=AssetPatch,
    response=Asset,
    errors=(403, 404, 409, 412, 422),
)
async def update_asset(request: web.Request) -> web.Response:
    asset_id, version = path_id(request), if_match(request)
    data = await read_body(request, AssetPatch)
    return resource(await assets.update(request.app[DEPS], request[ACTOR], asset_id, data, version))


@routes.route(
    "DELETE",
    "/api/v1/assets/{id}",
    summary="Delete an asset nothing depends on (readings go with it)",
    status=204,
    errors=(403, 404, 409, 412),
)
async def delete_asset(request: web.Request) -> web.Response:
    await assets.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)


@routes.route(
    "POST",
    "/api/v1/assets/{id}/readings",
    summary="Record meter readings (an object {readings: [...]} or a bare array); out-of-range values raise alerts",
    body=ReadingsIn,
    body_content={JSON_TYPE: READINGS_BODY},
    response=ReadingBatch,
    status=201,
    errors=(403, 404, 422),
)
async def add_readings(request: web.Request) -> web.Response:
    asset_id = path_id(request)
    data = await read_body(request, ReadingsIn, list_field="readings")
    return json({"items": await readings.add(request.app[DEPS], request[ACTOR], asset_id, data)}, status=201)


@routes.route(
    "GET",
    "/api/v1/assets/{id}/readings",
    summary="Meter readings of an asset, newest first",
    query=ReadingQuery,
    response=Page[Reading],
    errors=(404,),
)
async def list_readings(request: web.Request) -> web.Response:
    asset_id = path_id(request)
    query = read_query(request, ReadingQuery)
    return page(*await readings.list_readings(request.app[DEPS], request[ACTOR], asset_id, query))
