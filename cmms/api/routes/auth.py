"""Login, token refresh, logout and the caller's own identity."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, SESSION, RouteTable, json, read_body
from cmms.domain.model import LoginIn, LogoutIn, RefreshIn
from cmms.domain.model_outputs import Me, TokenPair
from cmms.services import auth, users

routes = RouteTable("auth")


@routes.route(
    "POST",
    "/api/v1/auth/login",
    summary="Log in with tenant, email and password",
    body=LoginIn,
    response=TokenPair,
    public=True,
    errors=(401, 422, 429),
)
async def login(request: web.Request) -> web.Response:
    data = await read_body(request, LoginIn)
    return json(await auth.login(request.app[DEPS], data, request.remote or "unknown"))


@routes.route(
    "POST",
    "/api/v1/auth/refresh",
    summary="Rotate a refresh token for a new pair",
    body=RefreshIn,
    response=TokenPair,
    public=True,
    errors=(401, 422),
)
async def refresh(request: web.Request) -> web.Response:
    data = await read_body(request, RefreshIn)
    return json(await auth.refresh(request.app[DEPS], data.refresh_token))


@routes.route(
    "POST",
    "/api/v1/auth/logout",
    summary="End this session (its refresh tokens and access token)",
    body=LogoutIn,
    status=204,
    errors=(401,),
)
async def logout(request: web.Request) -> web.Response:
    if request.can_read_body:
        await read_body(request, LogoutIn)
    await auth.logout(request.app[DEPS], request[ACTOR], request[SESSION])
    return web.Response(status=204)


@routes.route("GET", "/api/v1/me", summary="The caller, their tenant and role", response=Me, errors=(401,))
async def me(request: web.Request) -> web.Response:
    return json(await users.me(request.app[DEPS], request[ACTOR]))
