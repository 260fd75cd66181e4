"""Users of the tenant (administration)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.model import UserIn, UserPatch
from cmms.domain.model_outputs import Page, User
from cmms.domain.model_queries import UserQuery
from cmms.services import users

routes = RouteTable("users")


@routes.route("GET", "/api/v1/users", summary="List users (staff)", query=UserQuery, response=Page[User], errors=(403,))
async def list_users(request: web.Request) -> web.Response:
    query = read_query(request, UserQuery)
    return page(*await users.list_users(request.app[DEPS], request[ACTOR], query))


@routes.route(
    "POST", "/api/v1/users", summary="Create a user (admin)", body=UserIn, response=User, status=201, errors=(403, 409)
)
async def create_user(request: web.Request) -> web.Response:
    data = await read_body(request, UserIn)
    return resource(await users.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route("GET", "/api/v1/users/{id}", summary="One user", response=User, errors=(403, 404))
async def get_user(request: web.Request) -> web.Response:
    return resource(await users.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/users/{id}",
    summary="Change role, name, password or deactivate (admin)",
    body=UserPatch,
    response=User,
    errors=(403, 404, 409, 412),
)
async def update_user(request: web.Request) -> web.Response:
    user_id, version = path_id(request), if_match(request)
    data = await read_body(request, UserPatch)
    return resource(await users.update(request.app[DEPS], request[ACTOR], user_id, data, version))
