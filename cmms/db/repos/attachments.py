"""Attachments and the content-addressed blobs they point at (one blob per content per tenant)."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

TABLE = "attachments"
PUBLIC = "id, parent_type, parent_id, order_id, name, content_type, size, sha256, created_by, created_at, version"
Page = tuple[list[dict[str, Any]], str | None]


async def claim_blob(
    cur: Cursor, tenant_id: int, sha256: str, size: int, content_type: str, store_key: str
) -> dict[str, Any]:
    """The tenant's blob of this content: the existing one, or ours if it is the first.

    The upsert takes the blob's row lock, so a concurrent removal of its last attachment either
    finished before (and we insert anew) or waits until this transaction has attached to it.
    """
    row = await fetchone(
        cur,
        "INSERT INTO file_blobs (tenant_id, sha256, size, content_type, store_key) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, sha256) DO UPDATE SET sha256 = EXCLUDED.sha256"
        " RETURNING id, store_key, content_type",
        (tenant_id, sha256, size, content_type, store_key),
    )
    assert row is not None
    return row


async def used_bytes(cur: Cursor, tenant_id: int, *, lock: bool = False) -> int:
    """Bytes of the tenant's distinct blobs; `lock` first takes the tenant row (which every event
    publish takes anyway), so concurrent uploads check the quota one after another."""
    if lock:
        await cur.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,))
    row = await fetchone(cur, "SELECT coalesce(sum(size), 0) AS n FROM file_blobs WHERE tenant_id = %s", (tenant_id,))
    return int(row["n"]) if row else 0


async def insert(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    row = await crud.insert(cur, TABLE, values)
    return {k: row[k] for k in PUBLIC.split(", ")}


async def get(cur: Cursor, tenant_id: int, attachment_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        f"SELECT a.{PUBLIC.replace(', ', ', a.')}, a.blob_id, b.store_key FROM attachments a"
        " JOIN file_blobs b ON b.id = a.blob_id WHERE a.tenant_id = %s AND a.id = %s",
        (tenant_id, attachment_id),
    )


async def list_page(
    cur: Cursor, tenant_id: int, parent_type: str, parent_id: int, limit: int, cursor: str | None
) -> Page:
    where = crud.Where(tenant_id).eq("parent_type", parent_type).eq("parent_id", parent_id)
    return await crud.page(cur, TABLE, where, limit=limit, cursor=cursor, columns=PUBLIC)


async def delete(cur: Cursor, tenant_id: int, attachment_id: int) -> None:
    await cur.execute("DELETE FROM attachments WHERE tenant_id = %s AND id = %s", (tenant_id, attachment_id))


async def release_blob(cur: Cursor, tenant_id: int, blob_id: int) -> str | None:
    """Drop the blob once no attachment points at it; its store key, to delete after commit."""
    row = await fetchone(
        cur,
        "DELETE FROM file_blobs b WHERE b.tenant_id = %s AND b.id = %s"
        " AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.blob_id = b.id) RETURNING store_key",
        (tenant_id, blob_id),
    )
    return str(row["store_key"]) if row else None


async def checklist_item_exists(cur: Cursor, tenant_id: int, order_id: int, item_id: int) -> bool:
    rows = await fetchall(
        cur,
        "SELECT 1 FROM checklist_items WHERE tenant_id = %s AND order_id = %s AND id = %s",
        (tenant_id, order_id, item_id),
    )
    return bool(rows)


async def referenced(cur: Cursor, keys: list[str]) -> set[str]:
    """Which of these store keys a blob or a job result still points at."""
    rows = await fetchall(
        cur,
        "SELECT store_key AS key FROM file_blobs WHERE store_key = ANY(%s)"
        " UNION SELECT result_key FROM jobs WHERE result_key = ANY(%s)",
        (keys, keys),
    )
    return {str(r["key"]) for r in rows}
