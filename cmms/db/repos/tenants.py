"""Tenants: not row-level secured (login must find one by name); every query names its id."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone

COLUMNS = "id, name, display_name, currency, created_at"


async def by_name(cur: Cursor, name: str) -> dict[str, Any] | None:
    return await fetchone(cur, f"SELECT {COLUMNS} FROM tenants WHERE lower(name) = lower(%s)", (name.strip(),))


async def all_ids(cur: Cursor) -> list[int]:
    rows = await fetchall(cur, "SELECT id FROM tenants ORDER BY id")
    return [int(r["id"]) for r in rows]


async def get(cur: Cursor, tenant_id: int) -> dict[str, Any] | None:
    return await fetchone(cur, f"SELECT {COLUMNS} FROM tenants WHERE id = %s", (tenant_id,))


async def create(cur: Cursor, name: str, display_name: str) -> dict[str, Any]:
    row = await fetchone(
        cur,
        f"INSERT INTO tenants (name, display_name) VALUES (%s, %s) RETURNING {COLUMNS}",
        (name, display_name),
    )
    assert row is not None
    return row


async def next_order_number(cur: Cursor, tenant_id: int) -> int:
    row = await fetchone(
        cur, "UPDATE tenants SET order_seq = order_seq + 1 WHERE id = %s RETURNING order_seq", (tenant_id,)
    )
    assert row is not None
    return int(row["order_seq"])
