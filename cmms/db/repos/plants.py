"""Plants (sites)."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchone

TABLE = "plants"


async def get(cur: Cursor, tenant_id: int, plant_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, TABLE, tenant_id, plant_id, lock=lock)


async def list_page(
    cur: Cursor, tenant_id: int, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    return await crud.page(cur, TABLE, crud.Where(tenant_id), limit=limit, cursor=cursor)


async def in_use(cur: Cursor, tenant_id: int, plant_id: int) -> bool:
    """Whether assets or work orders still point at the plant."""
    row = await fetchone(
        cur,
        "SELECT EXISTS (SELECT 1 FROM assets WHERE tenant_id = %s AND plant_id = %s)"
        " OR EXISTS (SELECT 1 FROM work_orders WHERE tenant_id = %s AND plant_id = %s) AS used",
        (tenant_id, plant_id, tenant_id, plant_id),
    )
    return bool(row and row["used"])
