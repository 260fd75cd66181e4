"""Purchase orders and their lines."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

ORDERS = "purchase_orders"
LINES = "purchase_order_lines"
Page = tuple[list[dict[str, Any]], str | None]


async def get(cur: Cursor, tenant_id: int, po_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, ORDERS, tenant_id, po_id, lock=lock)


async def insert(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, ORDERS, values)


async def insert_line(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, LINES, values)


async def lines(cur: Cursor, tenant_id: int, po_ids: list[int], *, lock: bool = False) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT * FROM purchase_order_lines WHERE tenant_id = %s AND purchase_order_id = ANY(%s)"
        " ORDER BY purchase_order_id, position" + (" FOR UPDATE" if lock else ""),
        (tenant_id, po_ids),
    )


async def set_received(cur: Cursor, tenant_id: int, line_id: int, received_qty: Any) -> None:
    await cur.execute(
        "UPDATE purchase_order_lines SET received_qty = %s WHERE tenant_id = %s AND id = %s",
        (received_qty, tenant_id, line_id),
    )


async def page(
    cur: Cursor, tenant_id: int, status: str | None, vendor_id: int | None, limit: int, cursor: str | None
) -> Page:
    where = crud.Where(tenant_id).eq("status", status).eq("vendor_id", vendor_id)
    return await crud.page(cur, ORDERS, where, limit=limit, cursor=cursor)


async def after_receipt(cur: Cursor, tenant_id: int, po_id: int, status: str, received_at: Any) -> dict[str, Any]:
    """Every receipt is a new version of the order, even when its status stays partially_received."""
    row = await fetchone(
        cur,
        "UPDATE purchase_orders SET status = %s, received_at = COALESCE(%s, received_at), version = version + 1,"
        " updated_at = now() WHERE tenant_id = %s AND id = %s RETURNING *",
        (status, received_at, tenant_id, po_id),
    )
    assert row is not None
    return row
