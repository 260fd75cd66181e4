"""The inventory report's SQL: stock value per location, parts used per asset and plant in a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchall


async def valuation(cur: Cursor, tenant_id: int, plant_id: int | None) -> list[dict[str, Any]]:
    """Each location's stock at the parts' average cost (each level rounded to cents), highest first."""
    return await fetchall(
        cur,
        "SELECT s.id AS location_id, s.name AS location, s.plant_id, pl.name AS plant,"
        " count(l.part_id) FILTER (WHERE l.on_hand > 0) AS parts,"
        " coalesce(sum(round(l.on_hand * p.average_cost, 2)), 0) AS value"
        " FROM stock_locations s"
        " LEFT JOIN plants pl ON pl.tenant_id = s.tenant_id AND pl.id = s.plant_id"
        " LEFT JOIN stock_levels l ON l.tenant_id = s.tenant_id AND l.location_id = s.id"
        " LEFT JOIN parts p ON p.tenant_id = l.tenant_id AND p.id = l.part_id"
        " WHERE s.tenant_id = %s AND (%s::bigint IS NULL OR s.plant_id = %s::bigint)"
        " GROUP BY s.id, pl.name ORDER BY value DESC, s.name",
        (tenant_id, plant_id, plant_id),
    )


async def used(
    cur: Cursor, tenant_id: int, start: datetime, end: datetime, plant_id: int | None, by: str
) -> list[dict[str, Any]]:
    """Parts issued to orders (returns deducted) in [start, end), by the orders' asset or plant."""
    assert by in ("asset", "plant")
    key, name, join = (
        ("w.asset_id", "a.name", "LEFT JOIN assets a ON a.tenant_id = w.tenant_id AND a.id = w.asset_id")
        if by == "asset"
        else ("w.plant_id", "a.name", "LEFT JOIN plants a ON a.tenant_id = w.tenant_id AND a.id = w.plant_id")
    )
    return await fetchall(
        cur,
        f"SELECT {key} AS id, {name} AS name, count(*) FILTER (WHERE m.kind = 'issue') AS issues,"
        " round(sum(CASE WHEN m.kind = 'issue' THEN 1 ELSE -1 END * m.qty * m.unit_cost), 2) AS cost"
        " FROM stock_moves m JOIN work_orders w ON w.tenant_id = m.tenant_id AND w.id = m.order_id"
        f" {join}"
        " WHERE m.tenant_id = %s AND m.kind IN ('issue', 'return') AND m.created_at >= %s AND m.created_at < %s"
        " AND (%s::bigint IS NULL OR w.plant_id = %s::bigint)"
        f" GROUP BY {key}, {name} ORDER BY cost DESC NULLS LAST, name",
        (tenant_id, start, end, plant_id, plant_id),
    )
