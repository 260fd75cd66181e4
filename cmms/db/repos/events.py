"""Audit rows and outbox events, written inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from cmms.db.jsonb import jsonb
from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.events import Event
from cmms.domain.roles import Actor

NOTIFY_CHANNEL = "cmms_outbox"


async def audit(
    cur: Cursor, actor: Actor, action: str, entity: str, entity_id: int | None, changes: dict[str, Any]
) -> None:
    await cur.execute(
        "INSERT INTO audit_log (tenant_id, actor_id, action, entity, entity_id, changes, request_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (actor.tenant_id, actor.user_id, action, entity, entity_id, jsonb(changes), actor.request_id or None),
    )


async def publish(cur: Cursor, tenant_id: int, event: Event) -> int:
    """Append to the tenant's outbox. The tenant row lock makes `seq` follow commit order."""
    row = await fetchone(
        cur, "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = %s RETURNING event_seq", (tenant_id,)
    )
    assert row is not None
    seq = int(row["event_seq"])
    await cur.execute(
        "INSERT INTO outbox (tenant_id, seq, type, audience, data) VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, seq, event.type, event.audience, jsonb(event.data)),
    )
    await cur.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{tenant_id}:{seq}"))
    return seq


async def after(cur: Cursor, tenant_id: int, seq: int, rooms: list[str], limit: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT seq, type, at, tenant_id, data FROM outbox"
        " WHERE tenant_id = %s AND seq > %s AND audience && %s ORDER BY seq LIMIT %s",
        (tenant_id, seq, rooms, limit),
    )


async def oldest_seq(cur: Cursor, tenant_id: int) -> int | None:
    row = await fetchone(cur, "SELECT min(seq) AS seq FROM outbox WHERE tenant_id = %s", (tenant_id,))
    return None if row is None or row["seq"] is None else int(row["seq"])
