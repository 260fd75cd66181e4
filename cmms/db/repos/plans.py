"""Preventive-maintenance plans: calendar or meter triggered, one asset each."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchone
from cmms.domain.model_queries import PlanQuery

TABLE = "plans"


async def get(cur: Cursor, tenant_id: int, plan_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, TABLE, tenant_id, plan_id, lock=lock)


async def list_page(cur: Cursor, tenant_id: int, query: PlanQuery) -> tuple[list[dict[str, Any]], str | None]:
    where = crud.Where(tenant_id).eq("asset_id", query.asset_id).eq("active", query.active)
    return await crud.page(cur, TABLE, where, limit=query.limit, cursor=query.cursor)


async def has_orders(cur: Cursor, tenant_id: int, plan_id: int) -> bool:
    row = await fetchone(
        cur,
        "SELECT EXISTS (SELECT 1 FROM work_orders WHERE tenant_id = %s AND plan_id = %s) AS used",
        (tenant_id, plan_id),
    )
    return bool(row and row["used"])


async def procedure_exists(cur: Cursor, tenant_id: int, procedure_id: int) -> bool:
    row = await fetchone(cur, "SELECT id FROM procedures WHERE tenant_id = %s AND id = %s", (tenant_id, procedure_id))
    return row is not None
