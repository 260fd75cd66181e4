"""Idempotency-Key on POST: the first answer is kept for a day and given again to a retry.

The key is claimed with an INSERT in its own transaction before the request runs, so of two
concurrent requests with one key exactly one runs; the other waits for the stored answer. Only
successful answers are kept: a refused or failed request created nothing, and its key is released
for the retry to run again. A retry with the same key and another body is refused (422).
A secret that an answer shows once (a new API key's, a webhook's) is not kept: the replay says
`"secret": null`, and the record of it stays a hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass

import orjson

from cmms.db.pool import transaction
from cmms.db.repos import idempotency as repo
from cmms.domain.errors import Conflict, ValidationFailed
from cmms.services.deps import Deps

KEEP_HOURS = 24
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Stored:
    status: int
    content_type: str
    body: bytes


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(f"{HEADER} must be 1-255 printable characters", field=HEADER)


def without_secret(body: bytes) -> bytes:
    """The answer as it may be stored: a top-level `secret` is dropped to null."""
    if b'"secret"' not in body:
        return body
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if isinstance(document, dict) and document.get("secret") is not None:
        document["secret"] = None
        return orjson.dumps(document)
    return body


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).digest()


async def begin(deps: Deps, tenant_id: int, key: str, digest: bytes, wait: float = 10.0) -> Stored | None:
    """None: run the request, then `finish` or `abandon`. Otherwise the first answer."""
    async with transaction(deps.pool, tenant_id) as cur:
        row = await repo.claim(cur, tenant_id, key, digest, KEEP_HOURS)
    deadline = time.monotonic() + wait
    while row is not None:
        if bytes(row["request_hash"]) != digest:
            raise ValidationFailed(f"this {HEADER} was used with another request", field=HEADER)
        if row["status"] is not None:
            return Stored(int(row["status"]), str(row["content_type"]), bytes(row["body"] or b""))
        if time.monotonic() > deadline:
            raise Conflict(f"a request with this {HEADER} is still running; retry later")
        await asyncio.sleep(0.05)
        async with transaction(deps.pool, tenant_id) as cur:
            row = await repo.read(cur, tenant_id, key)
        if row is None:  # the first one failed and released the key: this one runs
            return await begin(deps, tenant_id, key, digest, max(deadline - time.monotonic(), 0.0))
    return None


async def finish(deps: Deps, tenant_id: int, key: str, answer: Stored) -> None:
    async with transaction(deps.pool, tenant_id) as cur:
        await repo.store(cur, tenant_id, key, answer.status, answer.content_type, answer.body)


async def abandon(deps: Deps, tenant_id: int, key: str) -> None:
    async with transaction(deps.pool, tenant_id) as cur:
        await repo.release(cur, tenant_id, key)
