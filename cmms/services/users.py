"""Users: admins manage them; supervisors may list them (to assign work); anyone sees themselves."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import events as events_repo
from cmms.db.repos import sessions, tenants
from cmms.db.repos import users as repo
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, NotFound, ValidationFailed
from cmms.domain.model import UserIn, UserPatch
from cmms.domain.model_queries import UserQuery
from cmms.domain.roles import STAFF, SUPERVISORS, Actor, Role
from cmms.services.common import changed_fields, patch_values, record, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]


async def me(deps: Deps, actor: Actor) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        tenant = await tenants.get(cur, actor.tenant_id)
        if tenant is None or actor.user_id is None:
            raise NotFound("no such user")
        user = repo.public(await repo.get(cur, actor.tenant_id, actor.user_id))
        last_seq = await events_repo.current_seq(cur, actor.tenant_id)
    # last_seq: where a client that has just loaded its data starts following the event stream.
    return {"user": user, "tenant": tenant, "role": user["role"], "last_seq": last_seq}


async def list_users(deps: Deps, actor: Actor, query: UserQuery) -> Page:
    require(actor, STAFF, "list users")  # technicians see who their colleagues are
    async with transaction(deps.pool, actor.tenant_id) as cur:
        where = crud.Where(actor.tenant_id).eq("role", query.role)
        rows, cursor = await crud.page(cur, "users", where, limit=query.limit, cursor=query.cursor)
    return [_pay_hidden(actor, repo.public(r)) for r in rows], cursor


async def get(deps: Deps, actor: Actor, user_id: int) -> dict[str, Any]:
    if actor.user_id != user_id:
        require(actor, STAFF, "see other users")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return _pay_hidden(actor, repo.public(await repo.get(cur, actor.tenant_id, user_id)))


def _pay_hidden(actor: Actor, user: dict[str, Any]) -> dict[str, Any]:
    """Pay is for supervisors and the user themself: a colleague's hourly rate shows as null."""
    if actor.is_supervisor or user["id"] == actor.user_id:
        return user
    return {**user, "hourly_rate": None}


async def create(deps: Deps, actor: Actor, data: UserIn) -> dict[str, Any]:
    require(actor, {Role.ADMIN}, "manage users")
    password_hash = await deps.passwords.hash(data.password)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        if await repo.by_email(cur, actor.tenant_id, data.email) is not None:
            raise Conflict(f"a user with email {data.email} already exists", field="email")
        row = await crud.insert(
            cur,
            "users",
            {
                "tenant_id": actor.tenant_id,
                "email": data.email,
                "name": data.name,
                "role": data.role,
                "password_hash": password_hash,
            },
        )
        user = repo.public(row)
        await record(
            cur,
            actor,
            action="create",
            entity="user",
            entity_id=row["id"],
            changes={"email": data.email, "role": data.role, "name": data.name},
            event=ev.Event(ev.USER_CREATED, user, ev.SUPERVISOR_ROOMS),
        )
        return user


async def update(deps: Deps, actor: Actor, user_id: int, data: UserPatch, version: int | None) -> dict[str, Any]:
    changes = patch_values(data)
    require(actor, SUPERVISORS if set(changes) == {"hourly_rate"} else {Role.ADMIN}, "manage users")
    if changes.get("active") is False and user_id == actor.user_id:
        raise Conflict("you cannot deactivate yourself", field="active")
    if changes.get("role") not in (None, Role.ADMIN) and user_id == actor.user_id:
        raise Conflict("you cannot give up your own admin role; ask another admin", field="role")
    password = changes.pop("password", None)
    if password is not None:
        changes["password_hash"] = await deps.passwords.hash(password)
    for key in ("name", "role", "active"):
        if key in changes and changes[key] is None and key != "name":
            changes.pop(key)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        current = await repo.get(cur, actor.tenant_id, user_id, lock=True)
        if changes.get("hourly_rate") is not None and changes.get("role", current["role"]) == Role.REQUESTER:
            raise ValidationFailed("requesters record no time, so they have no hourly rate", field="hourly_rate")
        row = await crud.update(cur, "users", current, changes, version)
        diff = changed_fields(current, row, [k for k in changes if k != "password_hash"])
        if password is not None:
            diff["password"] = ["***", "***"]
        ends_sessions = password is not None or diff.get("active") == [True, False] or "role" in diff
        if ends_sessions:
            await sessions.revoke_user(cur, actor.tenant_id, user_id)
            revoked = await deps.revocations.record_user(cur, actor.tenant_id, user_id)
        user = repo.public(row)
        if diff:
            await record(
                cur,
                actor,
                action="update",
                entity="user",
                entity_id=user_id,
                changes=diff,
                event=ev.Event(ev.USER_UPDATED, {**user, "changed": sorted(diff)}, ev.SUPERVISOR_ROOMS),
            )
    if ends_sessions:
        await deps.revocations.announce(revoked)
    return user
