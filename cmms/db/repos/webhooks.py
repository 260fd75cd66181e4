"""Webhook subscriptions, and the delivery log as the API shows it."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.errors import NotFound

TABLE = "webhooks"
# Everything but the secret and the sender's lease: what reads, events and the audit trail see.
PUBLIC = (
    "id, url, events, active, description, role, created_by, failing_since, disabled_reason,"
    " version, created_at, updated_at"
)
DELIVERY = (
    "id, webhook_id, seq, event, status, attempts, next_attempt_at, last_status, last_error,"
    " delivered_at, created_at, updated_at"
)
ATTEMPTS_SHOWN = 10
Page = tuple[list[dict[str, Any]], str | None]


async def insert(cur: Cursor, tenant_id: int, values: dict[str, Any]) -> dict[str, Any]:
    row = await fetchone(
        cur,
        "INSERT INTO webhooks (tenant_id, url, events, active, description, secret, role, created_by)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {PUBLIC}",
        (
            tenant_id,
            values["url"],
            values["events"],
            values["active"],
            values["description"],
            values["secret"],
            values["role"],
            values["created_by"],
        ),
    )
    assert row is not None
    return row


async def start_after_current_event(cur: Cursor, tenant_id: int, webhook_id: int) -> None:
    """Deliver only events after the one announcing the webhook (read after `publish` locked it)."""
    await cur.execute(
        "UPDATE webhooks SET after_seq = (SELECT event_seq FROM tenants WHERE id = %s)"
        " WHERE tenant_id = %s AND id = %s",
        (tenant_id, tenant_id, webhook_id),
    )


async def get(cur: Cursor, tenant_id: int, webhook_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = await fetchone(
        cur,
        f"SELECT {PUBLIC} FROM webhooks WHERE tenant_id = %s AND id = %s" + (" FOR UPDATE" if lock else ""),
        (tenant_id, webhook_id),
    )
    if row is None:
        raise NotFound(f"webhook {webhook_id} not found")
    return row


async def update(cur: Cursor, tenant_id: int, webhook_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply changes (column names chosen by the service, never by the caller), bumping the version."""
    columns = ", ".join(f"{name} = %s" for name in changes)
    row = await fetchone(
        cur,
        f"UPDATE webhooks SET {columns}, version = version + 1, updated_at = now()"
        f" WHERE tenant_id = %s AND id = %s RETURNING {PUBLIC}",
        (*changes.values(), tenant_id, webhook_id),
    )
    assert row is not None
    return row


async def delete(cur: Cursor, tenant_id: int, webhook_id: int) -> None:
    await crud.delete(cur, TABLE, tenant_id, webhook_id)


async def list_page(cur: Cursor, tenant_id: int, limit: int, cursor: str | None) -> Page:
    return await crud.page(cur, TABLE, crud.Where(tenant_id), limit=limit, cursor=cursor, columns=PUBLIC)


async def deliveries(
    cur: Cursor, tenant_id: int, webhook_id: int, status: str | None, limit: int, cursor: str | None
) -> Page:
    """Newest first, each with its latest attempts (oldest of them first)."""
    where = crud.Where(tenant_id).eq("webhook_id", webhook_id).eq("status", status)
    rows, next_cursor = await crud.page(cur, "webhook_deliveries", where, limit=limit, cursor=cursor, columns=DELIVERY)
    await _attach_attempts(cur, tenant_id, rows)
    return rows, next_cursor


async def delivery(cur: Cursor, tenant_id: int, webhook_id: int, delivery_id: int) -> dict[str, Any] | None:
    row = await fetchone(
        cur,
        f"SELECT {DELIVERY} FROM webhook_deliveries WHERE tenant_id = %s AND webhook_id = %s AND id = %s",
        (tenant_id, webhook_id, delivery_id),
    )
    if row is not None:
        await _attach_attempts(cur, tenant_id, [row])
    return row


async def requeue(cur: Cursor, tenant_id: int, delivery_id: int) -> None:
    """Send again now with a fresh retry budget; the id, the body and the attempt log stay."""
    await cur.execute(
        "UPDATE webhook_deliveries SET status = 'pending', tries = 0, next_attempt_at = now(), updated_at = now()"
        " WHERE tenant_id = %s AND id = %s",
        (tenant_id, delivery_id),
    )


async def _attach_attempts(cur: Cursor, tenant_id: int, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["attempt_log"] = []
    if not rows:
        return
    attempts = await fetchall(
        cur,
        "SELECT delivery_id, id, number, at, status_code, duration_ms, error, response FROM ("
        " SELECT a.*, row_number() OVER (PARTITION BY delivery_id ORDER BY id DESC) AS recent"
        " FROM webhook_attempts a WHERE tenant_id = %s AND delivery_id = ANY(%s)) latest"
        " WHERE recent <= %s ORDER BY id",
        (tenant_id, [r["id"] for r in rows], ATTEMPTS_SHOWN),
    )
    by_id = {r["id"]: r for r in rows}
    for attempt in attempts:
        by_id[attempt.pop("delivery_id")]["attempt_log"].append(attempt)
