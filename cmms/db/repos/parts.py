"""Parts, stock locations and vendors: the reference data of the inventory."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import Cursor, fetchone

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
