"""Request id, access log, metrics and error translation around every handler."""

from __future__ import annotations

import logging
import secrets
import time

from aiohttp import web

from cmms.api import errors
from cmms.api.metrics import Metrics
from cmms.api.routing import REQUEST_ID, Handler
from cmms.logs import request_id_var

log = logging.getLogger("cmms.access")


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the id goes out with the headers, also on responses a handler streams
    itself (a prepared response's headers are sent before the middleware sees it again)."""
    rid = request.get(REQUEST_ID)
    if rid is not None and "X-Request-Id" not in response.headers:
        response.headers["X-Request-Id"] = rid


def make_middleware(metrics: Metrics) -> web.middleware:  # type: ignore[valid-type]
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else secrets.token_hex(8)
        request[REQUEST_ID] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        try:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = errors.problem(
                    exc.status,
                    exc.reason or exc.text or "error",
                    request_id=rid,
                    headers={k: v for k, v in exc.headers.items() if k == "Allow"},
                )
            except Exception as exc:
                response = errors.from_exception(exc, rid)
            if not response.prepared:
                response.headers["X-Request-Id"] = rid
            elapsed = time.perf_counter() - started
            route = request.match_info.route.resource
            template = route.canonical if route is not None else "unmatched"
            metrics.observe(request.method, template, response.status, elapsed)
            if not template.startswith("/socket.io"):
                log.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status,
                    extra={"status": response.status, "ms": round(elapsed * 1000, 2)},
                )
            return response
        finally:
            request_id_var.reset(token)

    return middleware
