"""Part lines of work orders: what is reserved, issued, released or returned."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

TABLE = "order_parts"
Page = tuple[list[dict[str, Any]], str | None]


async def insert(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, TABLE, values)


async def line(cur: Cursor, tenant_id: int, order_id: int, line_id: int) -> dict[str, Any] | None:
    """A line of this order, locked FOR UPDATE (None when it belongs to another order, or none)."""
    return await fetchone(
        cur,
        "SELECT * FROM order_parts WHERE tenant_id = %s AND order_id = %s AND id = %s FOR UPDATE",
        (tenant_id, order_id, line_id),
    )


async def page(cur: Cursor, tenant_id: int, order_id: int, limit: int, cursor: str | None) -> Page:
    return await crud.page(cur, TABLE, crud.Where(tenant_id).eq("order_id", order_id), limit=limit, cursor=cursor)


async def reserved_lines(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    """The order's lines still holding a reservation, locked, in part then location order (lock order)."""
    return await fetchall(
        cur,
        "SELECT * FROM order_parts WHERE tenant_id = %s AND order_id = %s AND status = 'reserved'"
        " ORDER BY part_id, location_id, id FOR UPDATE",
        (tenant_id, order_id),
    )


async def issued_lines(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT qty, unit_cost FROM order_parts WHERE tenant_id = %s AND order_id = %s AND status = 'issued'",
        (tenant_id, order_id),
    )
