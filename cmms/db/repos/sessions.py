"""Refresh tokens: one row per issued token, grouped into families (one family per login)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchone


async def insert(
    cur: Cursor, tenant_id: int, user_id: int, family_id: str, digest: bytes, expires_at: datetime
) -> None:
    await cur.execute(
        "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, user_id, family_id, digest, expires_at),
    )


async def find_for_update(cur: Cursor, tenant_id: int, digest: bytes) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT * FROM refresh_tokens WHERE tenant_id = %s AND token_hash = %s FOR UPDATE",
        (tenant_id, digest),
    )


async def mark_rotated(cur: Cursor, token_id: int) -> None:
    await cur.execute("UPDATE refresh_tokens SET rotated_at = now() WHERE id = %s", (token_id,))


async def revoke_family(cur: Cursor, tenant_id: int, family_id: str) -> None:
    await cur.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = %s AND family_id = %s AND revoked_at IS NULL",
        (tenant_id, family_id),
    )


async def revoke_user(cur: Cursor, tenant_id: int, user_id: int) -> None:
    await cur.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE tenant_id = %s AND user_id = %s AND revoked_at IS NULL",
        (tenant_id, user_id),
    )
