"""The audit trail, read side (rows are written by `repos.events.audit`)."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor
from cmms.domain.model_queries import AuditQuery

TABLE = "audit_log"
COLUMNS = "id, actor_id, api_key_id, action, entity, entity_id, changes, request_id, at"


async def list_page(cur: Cursor, tenant_id: int, query: AuditQuery) -> tuple[list[dict[str, Any]], str | None]:
    where = (
        crud.Where(tenant_id).eq("entity", query.entity).eq("entity_id", query.entity_id).eq("actor_id", query.actor_id)
    )
    return await crud.page(cur, TABLE, where, limit=query.limit, cursor=query.cursor, columns=COLUMNS)
