"""Login, refresh-token rotation with reuse detection, logout, and access-token verification."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import sessions, tenants
from cmms.db.repos import users as users_repo
from cmms.domain.api_keys import PREFIX as API_KEY_PREFIX
from cmms.domain.errors import Forbidden, TooManyAttempts, Unauthenticated
from cmms.domain.events import SESSION_ENDED, Event, user_audience
from cmms.domain.model import LoginIn
from cmms.domain.roles import Actor
from cmms.services import api_keys, tokens
from cmms.services.common import record
from cmms.services.deps import Deps

INVALID_LOGIN = "invalid tenant, email or password"


async def login(deps: Deps, data: LoginIn, address: str) -> dict[str, Any]:
    wait = await deps.throttle.retry_after(data.tenant, data.email, address)
    if wait:
        raise TooManyAttempts(wait)
    tenant = await find_tenant(deps, data.tenant)
    user = None
    if tenant is not None:
        async with transaction(deps.pool, tenant["id"]) as cur:
            user = await users_repo.by_email(cur, tenant["id"], data.email.strip().lower())
    ok = await deps.passwords.verify(user["password_hash"] if user else None, data.password)
    if not ok or user is None or tenant is None or not user["active"]:
        await deps.throttle.failed(data.tenant, data.email, address)
        raise Unauthenticated(INVALID_LOGIN)
    await deps.throttle.succeeded(data.tenant, data.email, address)
    async with transaction(deps.pool, tenant["id"]) as cur:
        return await _issue_pair(deps, cur, user, tokens.new_session_id())


async def refresh(deps: Deps, refresh_token: str) -> dict[str, Any]:
    """Rotate: the presented token is spent; presenting a spent token revokes its whole family."""
    tenant_id = tokens.refresh_token_tenant(refresh_token)
    now = deps.clock()
    reused = False
    async with transaction(deps.pool, tenant_id) as cur:
        row = await sessions.find_for_update(cur, tenant_id, tokens.hash_refresh_token(refresh_token))
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= now:
            raise Unauthenticated("the refresh token is not valid")
        if row["rotated_at"] is not None:
            await sessions.revoke_family(cur, tenant_id, str(row["family_id"]))
            revoked = await deps.revocations.record_session(cur, tenant_id, str(row["family_id"]))
            reused = True
        else:
            user = await users_repo.get(cur, tenant_id, row["user_id"])
            if not user["active"]:
                raise Unauthenticated("the account is deactivated")
            await sessions.mark_rotated(cur, row["id"])
            return await _issue_pair(deps, cur, user, str(row["family_id"]))
    if reused:
        await deps.revocations.announce(revoked)
    raise Unauthenticated("the refresh token was already used; the session is revoked")


async def logout(deps: Deps, actor: Actor, session_id: str) -> None:
    if actor.api_key_id is not None:
        raise Forbidden("an API key does not log out; revoke it with DELETE /api/v1/api-keys/{id}")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await sessions.revoke_family(cur, actor.tenant_id, session_id)
        revoked = await deps.revocations.record_session(cur, actor.tenant_id, session_id)
        # The event tells every node to drop this session's sockets.
        await record(
            cur,
            actor,
            action="logout",
            entity="user",
            entity_id=actor.user_id,
            changes={},
            event=Event(
                SESSION_ENDED, {"user_id": actor.user_id, "session_id": session_id}, user_audience(actor.user_id or 0)
            ),
        )
    await deps.revocations.announce(revoked)


async def authenticate(deps: Deps, bearer: str, *, address: str = "", keys: bool = True) -> tokens.AccessClaims:
    """The verified caller of an access token or, where `keys` allows, an API key."""
    if bearer.startswith(API_KEY_PREFIX):
        if not keys:
            raise Unauthenticated("API keys are for the HTTP API; Socket.IO takes an access token")
        return await api_keys.authenticate(deps, bearer, address)
    claims = deps.decoded_tokens.decode(deps.settings.jwt, deps.jwt_secret, bearer)
    actor = claims.actor
    if await deps.revocations.is_revoked(actor.tenant_id, claims.session_id, actor.user_id, claims.issued_ms):
        raise Unauthenticated("the session has ended; log in again")
    return claims


async def find_tenant(deps: Deps, name: str) -> dict[str, Any] | None:
    async with transaction(deps.pool, None) as cur:
        return await tenants.by_name(cur, name)


async def _issue_pair(deps: Deps, cur: Any, user: dict[str, Any], session_id: str) -> dict[str, Any]:
    now = deps.clock()
    cfg = deps.settings.jwt
    refresh_token, digest = tokens.new_refresh_token(user["tenant_id"])
    await sessions.insert(
        cur, user["tenant_id"], user["id"], session_id, digest, now + timedelta(seconds=cfg.refresh_ttl)
    )
    access = tokens.issue_access(
        cfg,
        deps.jwt_secret,
        user_id=user["id"],
        tenant_id=user["tenant_id"],
        role=user["role"],
        session_id=session_id,
        now=now,
    )
    return {
        "access_token": access,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": cfg.access_ttl,
        "user": users_repo.public(user),
    }
