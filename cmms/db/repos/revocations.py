"""Revoked sessions and users: the durable record behind the copies kept in Redis and in process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone


async def insert(
    cur: Cursor, tenant_id: int, kind: str, subject: str, revoked_ms: int, expires_at: datetime
) -> None:
    await cur.execute(
        "INSERT INTO revocations (tenant_id, kind, subject, revoked_ms, expires_at) VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, kind, subject, revoked_ms, expires_at),
    )


async def lookup(cur: Cursor, tenant_id: int, session_id: str, user_id: int | None) -> tuple[bool, int | None]:
    """Whether the session is revoked, and the latest instant the user's tokens were revoked."""
    row = await fetchone(
        cur,
        "SELECT bool_or(kind = 'session' AND subject = %s) AS session,"
        " max(revoked_ms) FILTER (WHERE kind = 'user' AND subject = %s) AS user_ms"
        " FROM revocations WHERE tenant_id = %s AND expires_at > now()"
        " AND ((kind = 'session' AND subject = %s) OR (kind = 'user' AND subject = %s))",
        (session_id, str(user_id or 0), tenant_id, session_id, str(user_id or 0)),
    )
    if row is None:
        return False, None
    return bool(row["session"]), (int(row["user_ms"]) if row["user_ms"] is not None else None)


async def live(cur: Cursor) -> list[dict[str, Any]]:
    """Every tenant's unexpired revocations (through a SECURITY DEFINER function)."""
    return await fetchall(cur, "SELECT kind, subject, revoked_ms, expires_at FROM cmms_live_revocations()")


async def purge(cur: Cursor) -> int:
    row = await fetchone(cur, "SELECT cmms_purge_revocations() AS n")
    return int(row["n"]) if row else 0
