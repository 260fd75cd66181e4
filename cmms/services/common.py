"""Helpers every service uses: role checks and the audit + outbox write of a mutation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from cmms.db.pool import Cursor, transaction
from cmms.db.repos import events
from cmms.domain.errors import Forbidden
from cmms.domain.events import Event
from cmms.domain.roles import Actor, Role
from cmms.services.deps import Deps

T = TypeVar("T")
Page = tuple[list[dict[str, Any]], str | None]


def require(actor: Actor, roles: Iterable[Role], action: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"a {actor.role} may not {action}")


def changed_fields(before: dict[str, Any], after: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """{field: [old, new]} for fields whose value differs (the audit trail's diff)."""
    return {f: [before.get(f), after.get(f)] for f in fields if before.get(f) != after.get(f)}


async def record(
    cur: Cursor,
    actor: Actor,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    changes: dict[str, Any],
    event: Event | None = None,
) -> None:
    """Audit row and outbox event, in the mutation's own transaction: both or neither."""
    await events.audit(cur, actor, action, entity, entity_id, changes)
    if event is not None:
        await events.publish(cur, actor.tenant_id, event)


async def record_update(
    cur: Cursor,
    actor: Actor,
    *,
    entity: str,
    before: dict[str, Any],
    after: dict[str, Any],
    fields: Iterable[str],
    event_type: str,
    audience: list[str],
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Audit and publish an update when it changed something; returns the diff.

    The event carries the row (or `data`) and the `changed` field names.
    """
    diff = changed_fields(before, after, fields)
    if diff:
        payload = {**(after if data is None else data), "changed": sorted(diff)}
        await record(
            cur,
            actor,
            action="update",
            entity=entity,
            entity_id=after["id"],
            changes=diff,
            event=Event(event_type, payload, audience),
        )
    return diff


def patch_values(model: Any) -> dict[str, Any]:
    """The fields a PATCH body actually carried (an explicit null clears a field)."""
    return {k: getattr(model, k) for k in model.model_fields_set}


@asynccontextmanager
async def mutation(deps: Deps, actor: Actor, *kinds: str) -> AsyncIterator[Cursor]:
    """A tenant transaction that, once committed, invalidates the cached kinds it touched.

    Invalidating here gives the writer read-your-writes on any node; the outbox relay
    invalidates again for every event, covering a crash between commit and this line.
    """
    async with transaction(deps.pool, actor.tenant_id) as cur:
        yield cur
    await deps.cache.invalidate(actor.tenant_id, *kinds)


async def cached(deps: Deps, actor: Actor, kind: str, key: str, load: Callable[[Cursor], Awaitable[T]]) -> T:
    """Read through the cache; `load` runs in a tenant transaction on a miss."""

    async def from_db() -> T:
        async with transaction(deps.pool, actor.tenant_id) as cur:
            return await load(cur)

    value: T = await deps.cache.get_or_load(actor.tenant_id, kind, key, from_db)
    return value


def query_key(query: Any) -> str:
    """A stable cache key for a validated query model."""
    return str(query.model_dump_json(exclude_none=True))


async def cached_page(deps: Deps, actor: Actor, kind: str, key: str, load: Callable[[Cursor], Awaitable[Page]]) -> Page:
    items, cursor = await cached(deps, actor, kind, key, load)
    return items, cursor
