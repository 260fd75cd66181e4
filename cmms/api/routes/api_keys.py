"""API keys for machines (admins and managers)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, page, path_id, read_body, read_query, resource
from cmms.domain.api_keys import ApiKey, ApiKeyCreated, ApiKeyIn
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import api_keys

routes = RouteTable("api-keys")


@routes.route(
    "POST",
    "/api/v1/api-keys",
    summary="Create an API key; its secret is in this answer only",
    body=ApiKeyIn,
    response=ApiKeyCreated,
    status=201,
    errors=(403, 422),
)
async def create_key(request: web.Request) -> web.Response:
    data = await read_body(request, ApiKeyIn)
    return resource(await api_keys.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/api-keys", summary="List API keys (no secrets)", query=PageQuery, response=Page[ApiKey],
              errors=(403,))  # fmt: skip
async def list_keys(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    return page(*await api_keys.list_keys(request.app[DEPS], request[ACTOR], query))


@routes.route("GET", "/api/v1/api-keys/{id}", summary="One API key", response=ApiKey, errors=(403, 404))
async def get_key(request: web.Request) -> web.Response:
    return resource(await api_keys.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "DELETE", "/api/v1/api-keys/{id}", summary="Revoke an API key, at once on every node", status=204,
    errors=(403, 404, 409),
    if_match=False,  # revoking needs no version: the handler reads no If-Match
)  # fmt: skip
async def revoke_key(request: web.Request) -> web.Response:
    await api_keys.revoke(request.app[DEPS], request[ACTOR], path_id(request))
    return web.Response(status=204)
