"""Request id, access log, metrics and error translation around every handler."""

from __future__ import annotations

import random
import secrets
import time

from aiohttp import web

from cmms.api import errors
from cmms.api.access_log import AccessLog
from cmms.api.metrics import Metrics
from cmms.api.routing import REQUEST_ID, Handler
from cmms.logs import request_id_var


def make_middleware(metrics: Metrics, access: AccessLog) -> web.middleware:  # type: ignore[valid-type]
    # Request ids need to be unique, not secret: a fast generator seeded from the OS, not a counter
    # (which would tell clients how busy the process is) and not `secrets` (slower per request).
    ids = random.Random(secrets.randbits(128))

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else f"{ids.getrandbits(64):016x}"
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
                access.write(request.method, request.path, response.status, round(elapsed * 1000, 2), rid)
            return response
        finally:
            request_id_var.reset(token)

    return middleware
