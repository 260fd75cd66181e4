"""Procedures, and the checklists they leave on orders (one per order, items copied at attach time)."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.jsonb import jsonb
from cmms.db.pool import Cursor, fetchall, fetchone

TABLE = "procedures"
ITEMS = "checklist_items"
ITEM_COLUMNS = (
    "id, order_id, position, label, type, required, unit, min, max, options, meter, value, result, notes,"
    " done_by, done_at, follow_up_id, version"
)
Page = tuple[list[dict[str, Any]], str | None]


async def get(cur: Cursor, tenant_id: int, procedure_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, TABLE, tenant_id, procedure_id, lock=lock)


async def find(cur: Cursor, tenant_id: int, procedure_id: int) -> dict[str, Any] | None:
    return await fetchone(cur, "SELECT * FROM procedures WHERE tenant_id = %s AND id = %s", (tenant_id, procedure_id))


async def insert(cur: Cursor, tenant_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return await fetchone_required(
        cur,
        "INSERT INTO procedures (tenant_id, name, description, items) VALUES (%s, %s, %s, %s) RETURNING *",
        (tenant_id, values["name"], values["description"], jsonb(values["items"])),
    )


async def update(cur: Cursor, current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A new revision: name, description and items as changed, revision and version + 1."""
    merged = {**current, **changes}
    return await fetchone_required(
        cur,
        "UPDATE procedures SET name = %s, description = %s, items = %s, revision = revision + 1,"
        " version = version + 1, updated_at = now() WHERE tenant_id = %s AND id = %s RETURNING *",
        (merged["name"], merged["description"], jsonb(merged["items"]), current["tenant_id"], current["id"]),
    )


async def list_page(cur: Cursor, tenant_id: int, limit: int, cursor: str | None) -> Page:
    return await crud.page(cur, TABLE, crud.Where(tenant_id), limit=limit, cursor=cursor)


async def in_use_by_plans(cur: Cursor, tenant_id: int, procedure_id: int) -> bool:
    row = await fetchone(
        cur,
        "SELECT EXISTS (SELECT 1 FROM plans WHERE tenant_id = %s AND procedure_id = %s) AS used",
        (tenant_id, procedure_id),
    )
    return bool(row and row["used"])


# ---- checklists on orders -----------------------------------------------------------------------


async def checklist(cur: Cursor, tenant_id: int, order_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur, "SELECT * FROM order_checklists WHERE tenant_id = %s AND order_id = %s", (tenant_id, order_id)
    )


async def attach(
    cur: Cursor, tenant_id: int, order_id: int, procedure: dict[str, Any], user_id: int | None
) -> dict[str, Any]:
    """Copy the procedure's current revision onto the order (the caller checked none is attached)."""
    head = await fetchone_required(
        cur,
        "INSERT INTO order_checklists (tenant_id, order_id, procedure_id, revision, name, attached_by)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (tenant_id, order_id, procedure["id"], procedure["revision"], procedure["name"], user_id),
    )
    items = procedure["items"]
    await cur.execute(
        "INSERT INTO checklist_items (tenant_id, order_id, position, label, type, required, unit, min, max,"
        " options, meter)"
        " SELECT %s, %s, i.position, i.label, i.type, i.required, i.unit, i.min, i.max,"
        "  CASE WHEN i.options IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(i.options)) END,"
        "  i.meter"
        " FROM jsonb_to_recordset(%s) AS i(position int, label text, type text, required boolean, unit text,"
        "  min float8, max float8, options jsonb, meter text)",
        (tenant_id, order_id, jsonb(items)),
    )
    return head


async def items(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        f"SELECT {ITEM_COLUMNS} FROM checklist_items WHERE tenant_id = %s AND order_id = %s ORDER BY position",
        (tenant_id, order_id),
    )


async def item(
    cur: Cursor, tenant_id: int, order_id: int, item_id: int, *, lock: bool = False
) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        f"SELECT {ITEM_COLUMNS} FROM checklist_items WHERE tenant_id = %s AND order_id = %s AND id = %s"
        + (" FOR UPDATE" if lock else ""),
        (tenant_id, order_id, item_id),
    )


async def record_item(cur: Cursor, tenant_id: int, item_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return await fetchone_required(
        cur,
        "UPDATE checklist_items SET value = %s, result = %s, notes = %s, done_by = %s, done_at = %s,"
        " version = version + 1, updated_at = now() WHERE tenant_id = %s AND id = %s"
        f" RETURNING {ITEM_COLUMNS}",
        (
            None if values["value"] is None else jsonb(values["value"]),
            values["result"],
            values["notes"],
            values["done_by"],
            values["done_at"],
            tenant_id,
            item_id,
        ),
    )


async def set_follow_up(cur: Cursor, tenant_id: int, item_id: int, order_id: int) -> None:
    await cur.execute(
        "UPDATE checklist_items SET follow_up_id = %s WHERE tenant_id = %s AND id = %s", (order_id, tenant_id, item_id)
    )


async def missing_required(cur: Cursor, tenant_id: int, order_id: int) -> list[dict[str, Any]]:
    """Required items of the order's checklist that have no value yet, in checklist order."""
    return await fetchall(
        cur,
        "SELECT id, label FROM checklist_items WHERE tenant_id = %s AND order_id = %s AND required"
        " AND value IS NULL ORDER BY position",
        (tenant_id, order_id),
    )


async def fetchone_required(cur: Cursor, query: str, params: Any) -> dict[str, Any]:
    row = await fetchone(cur, query, params)
    assert row is not None
    return row
