"""Alerts: conditions on assets raised by readings, integrations or people."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor
from cmms.domain.model_queries import AlertQuery

TABLE = "alerts"


async def get(cur: Cursor, tenant_id: int, alert_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, TABLE, tenant_id, alert_id, lock=lock)


async def list_page(cur: Cursor, tenant_id: int, query: AlertQuery) -> tuple[list[dict[str, Any]], str | None]:
    where = (
        crud.Where(tenant_id)
        .any_of("status", query.status)
        .any_of("severity", query.severity)
        .eq("asset_id", query.asset_id)
    )
    return await crud.page(cur, TABLE, where, limit=query.limit, cursor=query.cursor)
