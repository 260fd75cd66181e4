"""API keys for machines: created and revoked by supervisors, used as `Authorization: Bearer`.

A key acts for the user who created it, with the key's own role (at most the creator's), and
the audit trail names the key. Revoking writes a revocation in the same transaction as the key's
`revoked_at`, so every node refuses the key at its next request (see `services/revocations`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import api_keys as repo
from cmms.domain import api_keys as rules
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, Forbidden, TooManyAttempts, Unauthenticated
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import SUPERVISORS, Actor, Role
from cmms.services.common import record, require
from cmms.services.deps import Deps
from cmms.services.tokens import AccessClaims

log = logging.getLogger(__name__)
Page = tuple[list[dict[str, Any]], str | None]
THROTTLE_SCOPE = "~api-key"  # failures are counted per client address under this name


def session_of(key_id: int) -> str:
    """The revocation subject of a key (session ids are UUIDs, so these never collide)."""
    return f"key-{key_id}"


async def create(deps: Deps, actor: Actor, data: rules.ApiKeyIn) -> dict[str, Any]:
    _supervising_person(actor, "create API keys")
    rules.check_grant(actor.role, data.role)
    rules.check_expiry(data.expires_at, deps.clock())
    secret, digest = rules.new_key(actor.tenant_id)
    values = {
        "tenant_id": actor.tenant_id,
        "name": data.name,
        "role": data.role,
        "prefix": secret[:14],
        "secret_hash": digest,
        "created_by": actor.user_id,
        "expires_at": data.expires_at,
    }
    async with transaction(deps.pool, actor.tenant_id) as cur:
        row = await crud.insert(cur, repo.TABLE, values)
        row.pop("secret_hash")
        summary = {"name": data.name, "role": data.role, "expires_at": data.expires_at}
        await record(
            cur, actor, action="create", entity="api_key", entity_id=row["id"], changes=summary,
            event=ev.Event(ev.API_KEY_CREATED, row, ev.SUPERVISOR_ROOMS),
        )  # fmt: skip
    return {**row, "secret": secret}


async def list_keys(deps: Deps, actor: Actor, query: PageQuery) -> Page:
    require(actor, SUPERVISORS, "list API keys")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.list_page(cur, actor.tenant_id, query.limit, query.cursor)


async def get(deps: Deps, actor: Actor, key_id: int) -> dict[str, Any]:
    require(actor, SUPERVISORS, "see API keys")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.get(cur, actor.tenant_id, key_id)


async def revoke(deps: Deps, actor: Actor, key_id: int) -> None:
    _supervising_person(actor, "revoke API keys")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        current = await repo.get(cur, actor.tenant_id, key_id, lock=True)
        if rules.RANK[Role(current["role"])] > rules.RANK[actor.role]:
            raise Forbidden(f"a {actor.role} may not revoke a key with the role {current['role']}")
        row = await repo.revoke(cur, actor.tenant_id, key_id)
        if row is None:
            raise Conflict("the key is already revoked")
        revoked = await deps.revocations.record_session(cur, actor.tenant_id, session_of(key_id))
        await record(
            cur, actor, action="revoke", entity="api_key", entity_id=key_id, changes={"name": row["name"]},
            event=ev.Event(ev.API_KEY_REVOKED, row, ev.SUPERVISOR_ROOMS),
        )  # fmt: skip
    deps.api_keys.forget(key_id)
    await deps.revocations.announce(revoked)


def _supervising_person(actor: Actor, action: str) -> None:
    require(actor, SUPERVISORS, action)
    if actor.api_key_id is not None:
        raise Forbidden(f"an API key may not {action}; a person signs in for that")


async def authenticate(deps: Deps, secret: str, address: str) -> AccessClaims:
    digest = rules.digest(secret)
    row = deps.api_keys.get(digest)
    if row is None:  # a key verified in the last seconds skips the throttle; a flood never is one
        wait = await deps.throttle.retry_after(THROTTLE_SCOPE, address, address)
        if wait > 0:
            raise TooManyAttempts(wait)
        try:
            tenant_id = rules.tenant_of(secret)
        except Unauthenticated:
            await deps.throttle.failed(THROTTLE_SCOPE, address, address)
            raise
        async with transaction(deps.pool, tenant_id) as cur:
            row = await repo.by_hash(cur, tenant_id, digest)
        if row is None:
            await deps.throttle.failed(THROTTLE_SCOPE, address, address)
            raise Unauthenticated("the API key is not valid")
        deps.api_keys.put(digest, row)
    tenant_id = int(row["tenant_id"])
    now = deps.clock()
    if row["revoked_at"] is not None:
        raise Unauthenticated("the API key was revoked")
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise Unauthenticated("the API key has expired")
    session = session_of(row["id"])
    if await deps.revocations.is_revoked(tenant_id, session, None, 0):
        deps.api_keys.forget(row["id"])
        raise Unauthenticated("the API key was revoked")
    deps.api_keys.touch(tenant_id, row["id"], now)
    actor = Actor(tenant_id=tenant_id, user_id=row["created_by"], role=Role(row["role"]), api_key_id=row["id"])
    expires = int(row["expires_at"].timestamp()) if row["expires_at"] else 2**62
    return AccessClaims(actor=actor, session_id=session, issued_ms=0, expires_at=expires)


async def record_usage(deps: Deps) -> None:
    """Write the collected `last_used_at` times, one short transaction per tenant."""
    for tenant_id, used in deps.api_keys.take_used().items():
        try:
            async with transaction(deps.pool, tenant_id) as cur:
                await repo.touch(cur, tenant_id, used)
        except Exception:
            log.warning("API key usage not recorded; kept for the next round", exc_info=True)
            for key_id, at in used.items():
                deps.api_keys.used.setdefault(tenant_id, {}).setdefault(key_id, at)


async def record_usage_forever(deps: Deps, every: float = 10.0) -> None:
    try:
        while True:
            await asyncio.sleep(every)
            await record_usage(deps)
    finally:
        await record_usage(deps)  # what the last requests used, before the process goes
