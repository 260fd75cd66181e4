"""The delivery pipeline's SQL: the relay's intake, the sender's lease, head, attempts, the sweep."""

from __future__ import annotations

from typing import Any

from cmms.db.jsonb import jsonb
from cmms.db.pool import Cursor, fetchall, fetchone


async def has_active(cur: Cursor, tenant_id: int) -> bool:
    row = await fetchone(
        cur, "SELECT EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = %s AND active) AS found", (tenant_id,)
    )
    return bool(row and row["found"])


async def deliver(cur: Cursor, tenant_id: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One delivery per event and active webhook that subscribed before it, matches its type
    (`patterns`) and may see its audience; a replayed event inserts nothing (unique per webhook and
    seq). Answers the webhooks that got deliveries and whether a sender holds each.

    The tenant's active webhooks are read FOR SHARE first: a sender's lease release waits for this
    transaction, so a sender seen busy here sees the new deliveries when it looks again.
    """
    held = await fetchall(
        cur,
        "SELECT id, coalesce(lease_until > now(), false) AS busy FROM webhooks"
        " WHERE tenant_id = %s AND active ORDER BY id FOR SHARE",
        (tenant_id,),
    )
    if not held:
        return []
    made = await fetchall(
        cur,
        "INSERT INTO webhook_deliveries (tenant_id, webhook_id, seq, event, body)"
        " SELECT %s, w.id, e.seq, e.type, e.body"
        " FROM jsonb_to_recordset(%s) AS e(seq bigint, type text, body text, patterns text[], audience text[])"
        " JOIN webhooks w ON w.tenant_id = %s AND w.active AND w.after_seq < e.seq AND w.events && e.patterns"
        " AND e.audience && ARRAY['tenant', 'role:' || w.role]"
        " ORDER BY e.seq, w.id ON CONFLICT (webhook_id, seq) DO NOTHING RETURNING webhook_id",
        (tenant_id, jsonb(events), tenant_id),
    )
    busy = {h["id"]: h["busy"] for h in held}
    ids = sorted({int(m["webhook_id"]) for m in made})
    return [{"webhook_id": i, "busy": busy.get(i, False)} for i in ids]


_HEADS = (
    "SELECT id, seq, event, body, attempts, tries, next_attempt_at, next_attempt_at <= now() AS due"
    " FROM webhook_deliveries WHERE tenant_id = %s AND webhook_id = %s AND status = 'pending'"
)


async def lease(cur: Cursor, tenant_id: int, webhook_id: int, owner: str, seconds: float) -> dict[str, Any] | None:
    """Take (or renew) the right to send for this webhook; None when another sender holds it."""
    return await fetchone(
        cur,
        "UPDATE webhooks SET lease_owner = %s, lease_until = now() + make_interval(secs => %s)"
        " WHERE tenant_id = %s AND id = %s AND active"
        " AND (lease_until IS NULL OR lease_until < now() OR lease_owner = %s)"
        " RETURNING id, url, secret, created_by, failing_since",
        (owner, seconds, tenant_id, webhook_id, owner),
    )


async def release(cur: Cursor, tenant_id: int, webhook_id: int, owner: str) -> None:
    await cur.execute(
        "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL"
        " WHERE tenant_id = %s AND id = %s AND lease_owner = %s",
        (tenant_id, webhook_id, owner),
    )


async def heads(cur: Cursor, tenant_id: int, webhook_id: int, limit: int) -> list[dict[str, Any]]:
    """The first pending deliveries by seq: nothing later is sent while an earlier one is pending."""
    return await fetchall(cur, f"{_HEADS} ORDER BY seq LIMIT %s", (tenant_id, webhook_id, limit))


async def record_attempt(
    cur: Cursor,
    tenant_id: int,
    webhook_id: int,
    delivery_id: int,
    *,
    status: str,
    outcome: dict[str, Any],
    retry_in: float | None,
    following: int,
) -> list[dict[str, Any]]:
    """One statement: the delivery's next state (delivered, failed for good, or pending until
    `retry_in` seconds from now), the attempt numbered after it, and the `following` pending
    deliveries after it (a sender that keeps up needs no second query per delivery)."""
    return await fetchall(
        cur,
        "WITH d AS (UPDATE webhook_deliveries SET status = %s, attempts = attempts + 1, tries = tries + 1,"
        " last_status = %s, last_error = %s, updated_at = now(),"
        " delivered_at = CASE WHEN %s = 'delivered' THEN now() ELSE delivered_at END,"
        " next_attempt_at = now() + make_interval(secs => %s)"
        " WHERE tenant_id = %s AND id = %s RETURNING id, attempts),"
        " a AS (INSERT INTO webhook_attempts"
        " (tenant_id, delivery_id, number, status_code, duration_ms, error, response)"
        " SELECT %s, d.id, d.attempts, %s, %s, %s, %s FROM d RETURNING delivery_id)"
        f" {_HEADS} AND id <> %s ORDER BY seq LIMIT %s",
        (
            status,
            outcome["status_code"],
            outcome["error"],
            status,
            retry_in or 0,
            tenant_id,
            delivery_id,
            tenant_id,
            outcome["status_code"],
            outcome["duration_ms"],
            outcome["error"],
            outcome["response"],
            tenant_id,
            webhook_id,
            delivery_id,
            following,
        ),
    )


async def record_successes(
    cur: Cursor, tenant_id: int, webhook_id: int, outcomes: list[dict[str, Any]], following: int
) -> list[dict[str, Any]]:
    """Several delivered attempts (each `{id, status_code, duration_ms, response}`) in one statement,
    and the `following` pending deliveries after them."""
    return await fetchall(
        cur,
        "WITH v AS (SELECT * FROM jsonb_to_recordset(%s)"
        " AS v(id bigint, status_code integer, duration_ms double precision, response text)),"
        " d AS (UPDATE webhook_deliveries w SET status = 'delivered', attempts = w.attempts + 1,"
        " tries = w.tries + 1, last_status = v.status_code, last_error = NULL, updated_at = now(),"
        " delivered_at = now(), next_attempt_at = now() FROM v"
        " WHERE w.tenant_id = %s AND w.id = v.id RETURNING w.id, w.attempts),"
        " a AS (INSERT INTO webhook_attempts"
        " (tenant_id, delivery_id, number, status_code, duration_ms, error, response)"
        " SELECT %s, d.id, d.attempts, v.status_code, v.duration_ms, NULL, v.response FROM d JOIN v ON v.id = d.id"
        " RETURNING delivery_id)"
        f" {_HEADS} AND id <> ALL(%s) ORDER BY seq LIMIT %s",
        (jsonb(outcomes), tenant_id, tenant_id, tenant_id, webhook_id, [o["id"] for o in outcomes], following),
    )


async def mark_health(cur: Cursor, tenant_id: int, webhook_id: int, ok: bool) -> dict[str, Any] | None:
    """Clear `failing_since` on success, start it on the first failure; returns the webhook."""
    return await fetchone(
        cur,
        "UPDATE webhooks SET failing_since = CASE WHEN %s THEN NULL ELSE coalesce(failing_since, now()) END"
        " WHERE tenant_id = %s AND id = %s"
        " RETURNING id, failing_since, now() - failing_since AS failing_for, created_by, active",
        (ok, tenant_id, webhook_id),
    )


async def due_webhooks(cur: Cursor) -> list[tuple[int, int]]:
    rows = await fetchall(cur, "SELECT tenant_id, webhook_id FROM cmms_webhooks_due()")
    return [(int(r["tenant_id"]), int(r["webhook_id"])) for r in rows]


async def purge(cur: Cursor, days: int) -> int:
    row = await fetchone(cur, "SELECT cmms_purge_webhook_deliveries(%s) AS gone", (days,))
    return int(row["gone"]) if row else 0
