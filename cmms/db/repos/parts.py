"""Parts, stock locations and vendors: the reference data of the inventory."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone

PARTS = "parts"
LOCATIONS = "stock_locations"
VENDORS = "vendors"


async def find(cur: Cursor, table: str, tenant_id: int, id_: int, *, lock: str = "") -> dict[str, Any] | None:
    """A part, location or vendor of this tenant, or None; `lock` is "" or a row-lock clause."""
    assert table in (PARTS, LOCATIONS, VENDORS) and lock in ("", "FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE")
    return await fetchone(cur, f"SELECT * FROM {table} WHERE tenant_id = %s AND id = %s {lock}", (tenant_id, id_))


async def _any(cur: Cursor, query: str, params: tuple[Any, ...]) -> bool:
    row = await fetchone(cur, f"SELECT EXISTS ({query}) AS used", params)
    return bool(row and row["used"])


async def part_in_use(cur: Cursor, tenant_id: int, part_id: int) -> bool:
    return await _any(
        cur,
        "SELECT 1 FROM stock_moves WHERE tenant_id = %s AND part_id = %s"
        " UNION ALL SELECT 1 FROM order_parts WHERE tenant_id = %s AND part_id = %s"
        " UNION ALL SELECT 1 FROM purchase_order_lines WHERE tenant_id = %s AND part_id = %s",
        (tenant_id, part_id) * 3,
    )


async def location_in_use(cur: Cursor, tenant_id: int, location_id: int) -> bool:
    return await _any(
        cur,
        "SELECT 1 FROM stock_levels WHERE tenant_id = %s AND location_id = %s"
        " UNION ALL SELECT 1 FROM order_parts WHERE tenant_id = %s AND location_id = %s"
        " UNION ALL SELECT 1 FROM purchase_orders WHERE tenant_id = %s AND location_id = %s",
        (tenant_id, location_id) * 3,
    )


async def vendor_in_use(cur: Cursor, tenant_id: int, vendor_id: int) -> bool:
    return await _any(
        cur, "SELECT 1 FROM purchase_orders WHERE tenant_id = %s AND vendor_id = %s", (tenant_id, vendor_id)
    )


async def numbers_taken(cur: Cursor, tenant_id: int, numbers: list[str]) -> set[str]:
    rows = await fetchall(
        cur, "SELECT number FROM parts WHERE tenant_id = %s AND number = ANY(%s)", (tenant_id, numbers)
    )
    return {str(r["number"]) for r in rows}


async def created_by_request(cur: Cursor, tenant_id: int, request_id: str, since: Any) -> list[dict[str, Any]]:
    """Parts a job created in an earlier attempt (found through its audit rows), oldest first."""
    return await fetchall(
        cur,
        "SELECT p.id, p.number FROM audit_log l JOIN parts p ON p.tenant_id = l.tenant_id AND p.id = l.entity_id"
        " WHERE l.tenant_id = %s AND l.at >= %s AND l.request_id = %s AND l.entity = 'part'"
        " AND l.action = 'create' ORDER BY l.id",
        (tenant_id, since, request_id),
    )
