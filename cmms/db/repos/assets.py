"""Assets (equipment), a tree per plant through parent_id."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.model_queries import AssetQuery

TABLE = "assets"


def like_pattern(text: str) -> str:
    """A substring pattern for ILIKE in which the caller's %, _ and backslash match literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def get(cur: Cursor, tenant_id: int, asset_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, TABLE, tenant_id, asset_id, lock=lock)


async def find(cur: Cursor, tenant_id: int, asset_id: int) -> dict[str, Any] | None:
    return await fetchone(cur, "SELECT * FROM assets WHERE tenant_id = %s AND id = %s", (tenant_id, asset_id))


async def list_page(cur: Cursor, tenant_id: int, query: AssetQuery) -> tuple[list[dict[str, Any]], str | None]:
    where = (
        crud.Where(tenant_id)
        .eq("plant_id", query.plant_id)
        .eq("parent_id", query.parent_id)
        .any_of("status", query.status)
        .any_of("criticality", query.criticality)
    )
    if query.q:
        pattern = like_pattern(query.q)
        where.raw("(name ILIKE %s ESCAPE '\\' OR code ILIKE %s ESCAPE '\\')", pattern, pattern)
    return await crud.page(cur, TABLE, where, limit=query.limit, cursor=query.cursor)


async def code_taken(cur: Cursor, tenant_id: int, code: str, *, exclude_id: int | None = None) -> bool:
    row = await fetchone(
        cur,
        "SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = %s AND code = %s AND id IS DISTINCT FROM %s) AS taken",
        (tenant_id, code, exclude_id),
    )
    return bool(row and row["taken"])


async def ancestors(cur: Cursor, tenant_id: int, asset_id: int) -> set[int]:
    """The ids from `asset_id` up to its root, itself included (UNION ends even on a loop)."""
    rows = await fetchall(
        cur,
        "WITH RECURSIVE up (id, parent_id) AS ("
        "  SELECT id, parent_id FROM assets WHERE tenant_id = %s AND id = %s"
        "  UNION"
        "  SELECT a.id, a.parent_id FROM assets a JOIN up ON a.id = up.parent_id WHERE a.tenant_id = %s"
        ") SELECT id FROM up",
        (tenant_id, asset_id, tenant_id),
    )
    return {int(r["id"]) for r in rows}


async def dependents(cur: Cursor, tenant_id: int, asset_id: int) -> dict[str, bool]:
    """What still points at the asset and would block its deletion."""
    row = await fetchone(
        cur,
        "SELECT"
        " EXISTS (SELECT 1 FROM assets WHERE tenant_id = %(t)s AND parent_id = %(a)s) AS children,"
        " EXISTS (SELECT 1 FROM work_orders WHERE tenant_id = %(t)s AND asset_id = %(a)s) AS orders,"
        " EXISTS (SELECT 1 FROM plans WHERE tenant_id = %(t)s AND asset_id = %(a)s) AS plans,"
        " EXISTS (SELECT 1 FROM alerts WHERE tenant_id = %(t)s AND asset_id = %(a)s"
        "         AND status <> 'resolved') AS open_alerts",
        {"t": tenant_id, "a": asset_id},
    )
    assert row is not None
    return {k: bool(v) for k, v in row.items()}


async def delete(cur: Cursor, tenant_id: int, asset_id: int) -> None:
    """Delete the asset; its readings cascade and its resolved alerts go with it."""
    await cur.execute("DELETE FROM alerts WHERE tenant_id = %s AND asset_id = %s", (tenant_id, asset_id))
    await crud.delete(cur, TABLE, tenant_id, asset_id)


async def meters_in_plans(cur: Cursor, tenant_id: int, asset_id: int) -> set[str]:
    """Meter names the asset's meter-triggered plans depend on."""
    rows = await fetchall(
        cur,
        "SELECT DISTINCT meter FROM plans WHERE tenant_id = %s AND asset_id = %s AND trigger = 'meter'",
        (tenant_id, asset_id),
    )
    return {r["meter"] for r in rows}


async def lock_tree(cur: Cursor, tenant_id: int) -> None:
    """Serialise re-parenting within a tenant so two concurrent moves cannot close a loop."""
    await cur.execute("SELECT pg_advisory_xact_lock(hashtextextended('cmms.asset-tree:' || %s, 0))", (tenant_id,))
