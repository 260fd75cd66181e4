"""Time entries, running timers and other cost lines of orders."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

ENTRIES = "time_entries"
COSTS = "order_costs"
Page = tuple[list[dict[str, Any]], str | None]


async def lock_worker(cur: Cursor, tenant_id: int, user_id: int) -> dict[str, Any] | None:
    """The user whose time this is, locked so that their timer operations run one at a time.

    FOR NO KEY UPDATE does not block rows that merely reference the user (orders, entries).
    """
    return await fetchone(
        cur,
        "SELECT id, role, active, hourly_rate FROM users WHERE tenant_id = %s AND id = %s FOR NO KEY UPDATE",
        (tenant_id, user_id),
    )


async def timer(cur: Cursor, tenant_id: int, user_id: int) -> dict[str, Any] | None:
    return await fetchone(cur, "SELECT * FROM timers WHERE tenant_id = %s AND user_id = %s", (tenant_id, user_id))


async def start_timer(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, "timers", values)


async def drop_timer(cur: Cursor, tenant_id: int, user_id: int) -> None:
    await cur.execute("DELETE FROM timers WHERE tenant_id = %s AND user_id = %s", (tenant_id, user_id))


async def insert_entry(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, ENTRIES, values)


async def insert_cost(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, COSTS, values)


async def line(cur: Cursor, table: str, tenant_id: int, order_id: int, line_id: int) -> dict[str, Any] | None:
    """A time entry or cost line of this order (None when it belongs to another order, or none)."""
    assert table in (ENTRIES, COSTS)
    return await fetchone(
        cur,
        f"SELECT * FROM {table} WHERE tenant_id = %s AND order_id = %s AND id = %s FOR UPDATE",
        (tenant_id, order_id, line_id),
    )


async def page(cur: Cursor, table: str, tenant_id: int, order_id: int, limit: int, cursor: str | None) -> Page:
    assert table in (ENTRIES, COSTS)
    return await crud.page(cur, table, crud.Where(tenant_id).eq("order_id", order_id), limit=limit, cursor=cursor)


async def order_entries(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT minutes, hourly_rate FROM time_entries WHERE tenant_id = %s AND order_id = %s",
        (tenant_id, order_id),
    )


async def order_costs(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur, "SELECT amount FROM order_costs WHERE tenant_id = %s AND order_id = %s", (tenant_id, order_id)
    )
