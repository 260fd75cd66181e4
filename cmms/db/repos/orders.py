"""Work orders, their notes and their history."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchone
from cmms.db.repos import tenants
from cmms.domain.errors import NotFound
from cmms.domain.model_queries import OrderQuery

TABLE = "work_orders"
Page = tuple[list[dict[str, Any]], str | None]


async def get(
    cur: Cursor, tenant_id: int, order_id: int, *, lock: bool = False, share: bool = False
) -> dict[str, Any]:
    """The order; `lock` takes it FOR UPDATE, `share` FOR SHARE (many recorders, no status change)."""
    if share:
        row = await fetchone(
            cur, "SELECT * FROM work_orders WHERE tenant_id = %s AND id = %s FOR SHARE", (tenant_id, order_id)
        )
        if row is None:
            raise NotFound(f"work order {order_id} not found")
        return row
    return await crud.get(cur, TABLE, tenant_id, order_id, lock=lock)


async def insert(cur: Cursor, tenant_id: int, values: dict[str, Any]) -> dict[str, Any]:
    number = await tenants.next_order_number(cur, tenant_id)
    return await crud.insert(cur, TABLE, {"tenant_id": tenant_id, "number": number, **values})


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_page(cur: Cursor, tenant_id: int, query: OrderQuery, requested_by: int | None) -> Page:
    where = (
        crud.Where(tenant_id)
        .any_of("status", query.status)
        .any_of("priority", query.priority)
        .any_of("type", query.type)
        .eq("asset_id", query.asset_id)
        .eq("plant_id", query.plant_id)
        .eq("assignee_id", query.assignee_id)
        .eq("requested_by", requested_by or query.requested_by)
    )
    if query.q:
        digits = query.q.upper().removeprefix("WO-").lstrip("0")
        if digits.isdigit() and len(digits) < 18:
            where.raw("(title ILIKE %s OR number = %s)", like_pattern(query.q), int(digits))
        else:
            where.raw("title ILIKE %s", like_pattern(query.q))
    return await crud.page(cur, TABLE, where, limit=query.limit, cursor=query.cursor)


async def add_note(cur: Cursor, tenant_id: int, order_id: int, author_id: int | None, body: str) -> dict[str, Any]:
    return await crud.insert(
        cur, "order_notes", {"tenant_id": tenant_id, "order_id": order_id, "author_id": author_id, "body": body}
    )


async def notes(cur: Cursor, tenant_id: int, order_id: int, limit: int, cursor: str | None) -> Page:
    where = crud.Where(tenant_id).eq("order_id", order_id)
    return await crud.page(
        cur, "order_notes", where, limit=limit, cursor=cursor, columns="id, order_id, author_id, body, created_at"
    )


async def history(cur: Cursor, tenant_id: int, order_id: int, limit: int, cursor: str | None) -> Page:
    where = crud.Where(tenant_id).eq("entity", "order").eq("entity_id", order_id)
    return await crud.page(
        cur,
        "audit_log",
        where,
        limit=limit,
        cursor=cursor,
        columns="id, actor_id, action, entity, entity_id, changes, request_id, at",
    )


async def assignable_user(cur: Cursor, tenant_id: int, user_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT id, role, active FROM users WHERE tenant_id = %s AND id = %s",
        (tenant_id, user_id),
    )


async def asset_plant(cur: Cursor, tenant_id: int, asset_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur, "SELECT id, plant_id FROM assets WHERE tenant_id = %s AND id = %s", (tenant_id, asset_id)
    )


async def plant_exists(cur: Cursor, tenant_id: int, plant_id: int) -> bool:
    row = await fetchone(cur, "SELECT id FROM plants WHERE tenant_id = %s AND id = %s", (tenant_id, plant_id))
    return row is not None
