"""The audit trail: who changed what, readable by admins and managers."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import audit
from cmms.domain.model_queries import AuditQuery
from cmms.domain.roles import SUPERVISORS, Actor
from cmms.services.common import require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]


async def list_entries(deps: Deps, actor: Actor, query: AuditQuery) -> Page:
    require(actor, SUPERVISORS, "read the audit trail")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await audit.list_page(cur, actor.tenant_id, query)
