"""SQL of the CSV exports (one SELECT per entity, streamed through a server-side cursor) and the
look-ups of the asset import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2 import sql

from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.exports import AssetFilters, AuditFilters, Filters, OrderFilters, ReadingFilters
from cmms.domain.exports_parts import PartFilters, StockFilters

CURSOR = "cmms_export"


@dataclass(frozen=True)
class Select:
    """An export: its column names (the CSV header), rows query and count query, with parameters."""

    columns: list[str]
    rows: sql.Composed
    count: sql.Composed
    params: list[Any]


class _Where:
    def __init__(self, alias: str, tenant_id: int) -> None:
        self.alias = alias
        self.parts: list[sql.Composable] = []
        self.params: list[Any] = []
        self.add("tenant_id", "=", tenant_id)

    def add(self, column: str, op: str, value: Any) -> None:
        if value is None or value == []:
            return
        placeholder = "ANY(%s)" if op == "= ANY" else "%s"
        op = "=" if op == "= ANY" else op
        self.parts.append(
            sql.SQL("{}.{} {} {}").format(
                sql.Identifier(self.alias), sql.Identifier(column), sql.SQL(op), sql.SQL(placeholder)
            )
        )
        self.params.append([str(v) for v in value] if isinstance(value, list) else value)

    def sql(self) -> sql.Composed:
        return sql.SQL(" AND ").join(self.parts)


def _select(
    columns: list[tuple[str, str]], table: str, alias: str, joins: str, where: _Where, order: str = "id"
) -> Select:
    rows = sql.SQL("SELECT {} FROM {} {} {} WHERE {} ORDER BY {}").format(
        sql.SQL(", ").join(sql.SQL(f"{expr} AS {{}}").format(sql.Identifier(name)) for name, expr in columns),
        sql.Identifier(table),
        sql.Identifier(alias),
        sql.SQL(joins),
        where.sql(),
        sql.SQL(", ").join(sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c)) for c in order.split(",")),
    )
    count = sql.SQL("SELECT count(*) AS n FROM {} {} WHERE {}").format(
        sql.Identifier(table), sql.Identifier(alias), where.sql()
    )
    return Select([name for name, _ in columns], rows, count, where.params)


ORDER_COLUMNS = [
    ("id", "o.id"),
    ("number", "o.number"),
    ("title", "o.title"),
    ("status", "o.status"),
    ("priority", "o.priority"),
    ("type", "o.type"),
    ("plant_id", "o.plant_id"),
    ("plant", "p.name"),
    ("asset_id", "o.asset_id"),
    ("asset_code", "a.code"),
    ("asset_name", "a.name"),
    ("assignee_id", "o.assignee_id"),
    ("assignee_email", "u.email"),
    ("requested_by", "o.requested_by"),
    ("plan_id", "o.plan_id"),
    ("due_at", "o.due_at"),
    ("started_at", "o.started_at"),
    ("completed_at", "o.completed_at"),
    ("closed_at", "o.closed_at"),
    ("downtime_minutes", "o.downtime_minutes"),
    ("description", "o.description"),
    ("created_at", "o.created_at"),
    ("updated_at", "o.updated_at"),
]
ORDER_JOINS = (
    "LEFT JOIN plants p ON p.tenant_id = o.tenant_id AND p.id = o.plant_id"
    " LEFT JOIN assets a ON a.tenant_id = o.tenant_id AND a.id = o.asset_id"
    " LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.assignee_id"
)
ASSET_COLUMNS = [
    ("id", "s.id"),
    ("code", "s.code"),
    ("name", "s.name"),
    ("plant_id", "s.plant_id"),
    ("plant", "p.name"),
    ("parent_id", "s.parent_id"),
    ("parent_code", "r.code"),
    ("type", "s.type"),
    ("manufacturer", "s.manufacturer"),
    ("model", "s.model"),
    ("serial", "s.serial"),
    ("criticality", "s.criticality"),
    ("status", "s.status"),
    ("created_at", "s.created_at"),
    ("updated_at", "s.updated_at"),
]
ASSET_JOINS = (
    "JOIN plants p ON p.tenant_id = s.tenant_id AND p.id = s.plant_id"
    " LEFT JOIN assets r ON r.tenant_id = s.tenant_id AND r.id = s.parent_id"
)
READING_COLUMNS = [
    ("id", "m.id"),
    ("asset_id", "m.asset_id"),
    ("asset_code", "a.code"),
    ("asset_name", "a.name"),
    ("meter", "m.meter"),
    ("value", "m.value"),
    ("at", "m.at"),
]
READING_JOINS = "JOIN assets a ON a.tenant_id = m.tenant_id AND a.id = m.asset_id"
AUDIT_COLUMNS = [
    ("id", "l.id"),
    ("at", "l.at"),
    ("actor_id", "l.actor_id"),
    ("actor_email", "u.email"),
    ("action", "l.action"),
    ("entity", "l.entity"),
    ("entity_id", "l.entity_id"),
    ("request_id", "l.request_id"),
    ("changes", "l.changes::text"),
]
AUDIT_JOINS = "LEFT JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.actor_id"


PART_COLUMNS = [
    ("id", "t.id"),
    ("number", "t.number"),
    ("name", "t.name"),
    ("unit", "t.unit"),
    ("description", "t.description"),
    ("barcode", "t.barcode"),
    ("min_qty", "t.min_qty"),
    ("reorder_qty", "t.reorder_qty"),
    ("average_cost", "t.average_cost"),
    ("created_at", "t.created_at"),
    ("updated_at", "t.updated_at"),
]
LOW_PART = (
    "t.min_qty > 0 AND EXISTS (SELECT 1 FROM stock_levels z WHERE z.tenant_id = t.tenant_id AND z.part_id = t.id"
    " AND z.on_hand - z.reserved < t.min_qty)"
)
STOCK_COLUMNS = [
    ("part_id", "k.part_id"),
    ("number", "t.number"),
    ("name", "t.name"),
    ("unit", "t.unit"),
    ("location_id", "k.location_id"),
    ("location", "s.name"),
    ("on_hand", "k.on_hand"),
    ("reserved", "k.reserved"),
    ("available", "k.on_hand - k.reserved"),
    ("min_qty", "t.min_qty"),
    ("average_cost", "t.average_cost"),
    ("value", "round(k.on_hand * t.average_cost, 2)"),
]
STOCK_JOINS = (
    "JOIN parts t ON t.tenant_id = k.tenant_id AND t.id = k.part_id"
    " JOIN stock_locations s ON s.tenant_id = k.tenant_id AND s.id = k.location_id"
)


def export_select(entity: str, tenant_id: int, filters: Filters) -> Select:
    if isinstance(filters, OrderFilters):
        w = _Where("o", tenant_id)
        w.add("status", "= ANY", filters.status)
        w.add("priority", "= ANY", filters.priority)
        w.add("type", "= ANY", filters.type)
        w.add("plant_id", "=", filters.plant_id)
        w.add("asset_id", "=", filters.asset_id)
        w.add("assignee_id", "=", filters.assignee_id)
        w.add("created_at", ">=", filters.from_)
        w.add("created_at", "<", filters.to)
        return _select(ORDER_COLUMNS, "work_orders", "o", ORDER_JOINS, w)
    if isinstance(filters, AssetFilters):
        w = _Where("s", tenant_id)
        w.add("plant_id", "=", filters.plant_id)
        w.add("status", "= ANY", filters.status)
        w.add("criticality", "= ANY", filters.criticality)
        return _select(ASSET_COLUMNS, "assets", "s", ASSET_JOINS, w)
    if isinstance(filters, ReadingFilters):
        w = _Where("m", tenant_id)
        w.add("asset_id", "=", filters.asset_id)
        w.add("meter", "=", filters.meter)
        w.add("at", ">=", filters.since)
        w.add("at", "<", filters.until)
        return _select(READING_COLUMNS, "meter_readings", "m", READING_JOINS, w)
    if isinstance(filters, AuditFilters):
        w = _Where("l", tenant_id)
        w.add("entity", "=", filters.entity)
        w.add("actor_id", "=", filters.actor_id)
        w.add("at", ">=", filters.since)
        w.add("at", "<", filters.until)
        return _select(AUDIT_COLUMNS, "audit_log", "l", AUDIT_JOINS, w)
    if isinstance(filters, PartFilters):
        w = _Where("t", tenant_id)
        if filters.low_only:
            w.parts.append(sql.SQL(LOW_PART))
        return _select(PART_COLUMNS, "parts", "t", "", w)
    if isinstance(filters, StockFilters):
        w = _Where("k", tenant_id)
        w.add("part_id", "=", filters.part_id)
        w.add("location_id", "=", filters.location_id)
        return _select(STOCK_COLUMNS, "stock_levels", "k", STOCK_JOINS, w, order="part_id,location_id")
    raise ValueError(f"no export for {entity}")


async def count(cur: Cursor, select: Select) -> int:
    row = await fetchone(cur, select.count, select.params)
    return int(row["n"]) if row else 0


async def stream(cur: Cursor, select: Select, chunk: int) -> AsyncIterator[list[Any]]:
    """The rows in chunks of `chunk`, through a server-side cursor: memory does not grow with the
    row count. Must run inside a transaction (the cursor lives until it ends)."""
    declare = sql.SQL("DECLARE {} NO SCROLL CURSOR FOR {}").format(sql.Identifier(CURSOR), select.rows)
    await cur.execute(declare, select.params)
    fetch = sql.SQL("FETCH {} FROM {}").format(sql.Literal(int(chunk)), sql.Identifier(CURSOR))
    while True:
        await cur.execute(fetch)
        rows = await cur.fetchall()
        if not rows:
            break
        yield rows
    await cur.execute(sql.SQL("CLOSE {}").format(sql.Identifier(CURSOR)))


# ---- import look-ups --------------------------------------------------------------------------


async def plants_named(cur: Cursor, tenant_id: int, ids: list[int], names: list[str]) -> list[dict[str, Any]]:
    """The tenant's plants among these ids and (case-insensitively) these names."""
    return await fetchall(
        cur,
        "SELECT id, name FROM plants WHERE tenant_id = %s AND (id = ANY(%s) OR lower(name) = ANY(%s))",
        (tenant_id, ids, [n.lower() for n in names]),
    )


async def assets_by_code(cur: Cursor, tenant_id: int, codes: list[str]) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT id, code, plant_id FROM assets WHERE tenant_id = %s AND code = ANY(%s)",
        (tenant_id, codes),
    )


async def created_by_request(cur: Cursor, tenant_id: int, request_id: str, since: datetime) -> list[dict[str, Any]]:
    """Assets a job created in an earlier attempt (found through its audit rows), oldest first."""
    return await fetchall(
        cur,
        "SELECT a.id, a.code, a.name, a.plant_id FROM audit_log l"
        " JOIN assets a ON a.tenant_id = l.tenant_id AND a.id = l.entity_id"
        " WHERE l.tenant_id = %s AND l.at >= %s AND l.request_id = %s AND l.entity = 'asset'"
        " AND l.action = 'create' ORDER BY l.id",
        (tenant_id, since, request_id),
    )
