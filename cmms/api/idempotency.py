"""The Idempotency-Key header on every authenticated POST route (see services/idempotency)."""

from __future__ import annotations

import functools

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, Handler
from cmms.domain.errors import ValidationFailed
from cmms.services import idempotency as idem


def idempotent(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        key = request.headers.get(idem.HEADER)
        if key is None:
            return await handler(request)
        idem.check_key(key)
        deps, tenant_id = request.app[DEPS], request[ACTOR].tenant_id
        if request.content_type.startswith("multipart/"):
            raise ValidationFailed(f"{idem.HEADER} is not supported on uploads", field=idem.HEADER)
        digest = idem.fingerprint(request.method, request.path_qs, await request.read())
        stored = await idem.begin(deps, tenant_id, key, digest)
        if stored is not None:
            return web.Response(
                status=stored.status, body=stored.body, content_type=stored.content_type.split(";")[0] or None,
                headers={"Idempotent-Replayed": "true"},
            )  # fmt: skip
        try:
            response = await handler(request)
        except BaseException:
            await idem.abandon(deps, tenant_id, key)
            raise
        body = response.body if isinstance(response, web.Response) else None
        if 200 <= response.status < 300 and isinstance(body, bytes):
            stored = idem.Stored(response.status, response.content_type, idem.without_secret(body))
            await idem.finish(deps, tenant_id, key, stored)
        else:
            await idem.abandon(deps, tenant_id, key)
        return response

    return wrapped
