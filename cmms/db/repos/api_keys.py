"""API keys: one row per key; the secret only as its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchone

TABLE = "api_keys"
PUBLIC = (
    "id, tenant_id, name, role, prefix, created_by, expires_at, revoked_at, last_used_at, version,"
    " created_at, updated_at"
)


async def get(cur: Cursor, tenant_id: int, key_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = await crud.get(cur, TABLE, tenant_id, key_id, lock=lock)
    row.pop("secret_hash", None)
    return row


async def by_hash(cur: Cursor, tenant_id: int, digest: bytes) -> dict[str, Any] | None:
    return await fetchone(
        cur, f"SELECT {PUBLIC} FROM api_keys WHERE tenant_id = %s AND secret_hash = %s", (tenant_id, digest)
    )


async def list_page(
    cur: Cursor, tenant_id: int, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(cur, TABLE, crud.Where(tenant_id), limit=limit, cursor=cursor, columns=PUBLIC)


async def revoke(cur: Cursor, tenant_id: int, key_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        f"UPDATE api_keys SET revoked_at = now(), version = version + 1, updated_at = now()"
        f" WHERE tenant_id = %s AND id = %s AND revoked_at IS NULL RETURNING {PUBLIC}",
        (tenant_id, key_id),
    )


async def touch(cur: Cursor, tenant_id: int, used: dict[int, datetime]) -> None:
    """Record when keys were last used (a batch; never moves a time backwards)."""
    for key_id, at in used.items():
        await cur.execute(
            "UPDATE api_keys SET last_used_at = greatest(coalesce(last_used_at, %s), %s)"
            " WHERE tenant_id = %s AND id = %s",
            (at, at, tenant_id, key_id),
        )
