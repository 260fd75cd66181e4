"""Helpers every service uses: role checks and the audit + outbox write of a mutation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cmms.db.pool import Cursor
from cmms.db.repos import events
from cmms.domain.errors import Forbidden
from cmms.domain.events import Event
from cmms.domain.roles import Actor, Role


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


def patch_values(model: Any) -> dict[str, Any]:
    """The fields a PATCH body actually carried (an explicit null clears a field)."""
    return {k: getattr(model, k) for k in model.model_fields_set}
