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
        "INSERT INTO audit_log (tenant_id, actor_id, api_key_id, action, entity, entity_id, changes, request_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            actor.tenant_id,
            actor.user_id,
            actor.api_key_id,
            action,
            entity,
            entity_id,
            jsonb(changes),
            actor.request_id or None,
        ),
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


async def current_seq(cur: Cursor, tenant_id: int) -> int:
    row = await fetchone(cur, "SELECT event_seq FROM tenants WHERE id = %s", (tenant_id,))
    return int(row["event_seq"]) if row else 0


async def relay_backlog(cur: Cursor) -> list[dict[str, Any]]:
    """Tenants with events the relay has not delivered yet, and where it stopped."""
    return await fetchall(
        cur,
        "SELECT t.id AS tenant_id, coalesce(r.last_seq, 0) AS last_seq, t.event_seq"
        " FROM tenants t LEFT JOIN outbox_relay r ON r.tenant_id = t.id"
        " WHERE t.event_seq > coalesce(r.last_seq, 0) ORDER BY t.id",
    )


async def relay_batch(cur: Cursor, tenant_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT seq, type, at, tenant_id, audience, data FROM outbox"
        " WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
        (tenant_id, after, limit),
    )


async def relay_advance(cur: Cursor, tenant_id: int, seq: int) -> None:
    await cur.execute(
        "INSERT INTO outbox_relay (tenant_id, last_seq) VALUES (%s, %s)"
        " ON CONFLICT (tenant_id) DO UPDATE SET last_seq = greatest(outbox_relay.last_seq, excluded.last_seq),"
        " updated_at = now()",
        (tenant_id, seq),
    )


async def purge(cur: Cursor, tenant_id: int, older_than_days: int) -> int:
    """Drop delivered events past retention; replay from before them answers 410."""
    await cur.execute(
        "DELETE FROM outbox WHERE tenant_id = %s AND at < now() - make_interval(days => %s)"
        " AND seq <= coalesce((SELECT last_seq FROM outbox_relay WHERE tenant_id = %s), 0)",
        (tenant_id, older_than_days, tenant_id),
    )
    return int(cur.rowcount or 0)
