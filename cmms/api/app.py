"""The aiohttp application factory: every route table, middleware, health, metrics and OpenAPI."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from cmms.api import openapi
from cmms.api.access_log import AccessLog
from cmms.api.idempotency import idempotent
from cmms.api.keys import DEPS, METRICS, READINESS
from cmms.api.metrics import Metrics
from cmms.api.middleware import make_middleware
from cmms.api.routes import ALL_TABLES
from cmms.api.routing import ACTOR, REQUEST_ID, SESSION, Handler
from cmms.domain.api_keys import PREFIX as API_KEY_PREFIX
from cmms.domain.errors import Unauthenticated
from cmms.services import auth
from cmms.services.deps import Deps

ReadinessCheck = Callable[[], Awaitable[dict[str, dict[str, object]]]]


def make_app(deps: Deps, readiness: ReadinessCheck) -> web.Application:
    metrics = Metrics(deps.cache)
    access = AccessLog()
    app = web.Application(
        middlewares=[make_middleware(metrics, access)], client_max_size=deps.settings.server.max_body_bytes
    )
    app.on_cleanup.append(access.on_cleanup)
    app[DEPS] = deps
    app[METRICS] = metrics
    app[READINESS] = readiness
    for table in ALL_TABLES:
        for route in table.routes:
            handler = route.handler
            if route.method == "POST" and not route.public:
                handler = idempotent(handler)
            handler = handler if route.public else _authenticated(handler)
            app.router.add_route(route.method, route.path, handler)
    app.router.add_get("/api/openapi.json", openapi.handler)
    return app


def _authenticated(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send an access token: Authorization: Bearer <token>")
        token = token.strip()
        address = (request.remote or "") if token.startswith(API_KEY_PREFIX) else ""  # keys count bad tries by address
        claims = await auth.authenticate(request.app[DEPS], token, address=address)
        request[ACTOR] = claims.actor.for_request(request[REQUEST_ID])
        request[SESSION] = claims.session_id
        return await handler(request)

    return wrapped
