"""Stored first answers of POST requests sent with an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import Cursor, fetchone

ABANDONED_SECONDS = 60  # a first request still "running" this long died with its process


async def claim(cur: Cursor, tenant_id: int, key: str, digest: bytes, keep_hours: int) -> dict[str, Any] | None:
    """None when this request is the first (it must run and then `store`); else the row."""
    await cur.execute(
        "DELETE FROM idempotency_keys WHERE tenant_id = %s AND key = %s AND (created_at < now() - make_interval("
        "hours => %s) OR (status IS NULL AND created_at < now() - make_interval(secs => %s)))",
        (tenant_id, key, keep_hours, ABANDONED_SECONDS),
    )
    inserted = await fetchone(
        cur,
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING key",
        (tenant_id, key, digest),
    )
    if inserted is not None:
        return None
    return await fetchone(
        cur,
        "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
        (tenant_id, key),
    )


async def read(cur: Cursor, tenant_id: int, key: str) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT request_hash, status, content_type, body FROM idempotency_keys WHERE tenant_id = %s AND key = %s",
        (tenant_id, key),
    )


async def store(cur: Cursor, tenant_id: int, key: str, status: int, content_type: str, body: bytes) -> None:
    await cur.execute(
        "UPDATE idempotency_keys SET status = %s, content_type = %s, body = %s WHERE tenant_id = %s AND key = %s",
        (status, content_type, body, tenant_id, key),
    )


async def release(cur: Cursor, tenant_id: int, key: str) -> None:
    await cur.execute(
        "DELETE FROM idempotency_keys WHERE tenant_id = %s AND key = %s AND status IS NULL", (tenant_id, key)
    )


async def purge(cur: Cursor, tenant_id: int, keep_hours: int) -> int:
    await cur.execute(
        "DELETE FROM idempotency_keys WHERE tenant_id = %s AND created_at < now() - make_interval(hours => %s)",
        (tenant_id, keep_hours),
    )
    return int(cur.rowcount)
