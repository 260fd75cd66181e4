"""Rows past retention: counted for a dry run, deleted in bounded batches otherwise.

Each function works on one tenant's rows (or, for jobs, on whatever the transaction's scope
shows: a tenant's jobs, or the system jobs when no tenant is set).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone

FINISHED = ["completed", "failed", "cancelled"]

AUDIT = "tenant_id = %(t)s AND at < %(before)s"
# Only events the relay has delivered: one not yet relayed must still reach its sockets.
OUTBOX = (
    "tenant_id = %(t)s AND at < %(before)s"
    " AND seq <= coalesce((SELECT last_seq FROM outbox_relay WHERE tenant_id = %(t)s), 0)"
)
# Expired a day ago, or revoked a day ago: neither can be used again, and a day's grace keeps
# the rows a refresh that races with the expiry or the logout still reads.
TOKENS = "tenant_id = %(t)s AND (expires_at < %(before)s OR revoked_at < %(before)s)"


async def _count(cur: Cursor, table: str, where: str, params: dict[str, Any]) -> int:
    row = await fetchone(cur, f"SELECT count(*) AS n FROM {table} WHERE {where}", params)
    return int(row["n"]) if row else 0


async def count_audit(cur: Cursor, tenant_id: int, before: datetime) -> int:
    return await _count(cur, "audit_log", AUDIT, {"t": tenant_id, "before": before})


async def delete_audit(cur: Cursor, tenant_id: int, before: datetime, limit: int) -> int:
    await cur.execute(
        f"DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE {AUDIT} ORDER BY id LIMIT %(limit)s)",
        {"t": tenant_id, "before": before, "limit": limit},
    )
    return int(cur.rowcount or 0)


async def count_events(cur: Cursor, tenant_id: int, before: datetime) -> int:
    return await _count(cur, "outbox", OUTBOX, {"t": tenant_id, "before": before})


async def delete_events(cur: Cursor, tenant_id: int, before: datetime, limit: int) -> int:
    await cur.execute(
        "DELETE FROM outbox WHERE tenant_id = %(t)s AND seq IN"
        f" (SELECT seq FROM outbox WHERE {OUTBOX} ORDER BY seq LIMIT %(limit)s)",
        {"t": tenant_id, "before": before, "limit": limit},
    )
    return int(cur.rowcount or 0)


async def count_tokens(cur: Cursor, tenant_id: int, before: datetime) -> int:
    return await _count(cur, "refresh_tokens", TOKENS, {"t": tenant_id, "before": before})


async def delete_tokens(cur: Cursor, tenant_id: int, before: datetime, limit: int) -> int:
    await cur.execute(
        f"DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE {TOKENS} LIMIT %(limit)s)",
        {"t": tenant_id, "before": before, "limit": limit},
    )
    return int(cur.rowcount or 0)


async def finished_jobs(
    cur: Cursor, tenant_id: int | None, before: datetime, limit: int, after_id: int = 0
) -> list[dict[str, Any]]:
    """Finished jobs of a tenant (None: the system jobs) that ended before `before`, with their file."""
    return await fetchall(
        cur,
        "SELECT id, result_path, result_key FROM jobs WHERE tenant_id IS NOT DISTINCT FROM %s AND status = ANY(%s)"
        " AND finished_at < %s AND id > %s ORDER BY id LIMIT %s",
        (tenant_id, FINISHED, before, after_id, limit),
    )


async def delete_jobs(cur: Cursor, tenant_id: int | None, ids: list[int], before: datetime) -> int:
    await cur.execute(
        "DELETE FROM jobs WHERE tenant_id IS NOT DISTINCT FROM %s AND id = ANY(%s) AND status = ANY(%s)"
        " AND finished_at < %s",
        (tenant_id, ids, FINISHED, before),
    )
    return int(cur.rowcount or 0)
