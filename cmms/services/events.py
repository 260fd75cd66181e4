"""The event stream: replay for clients, and the reads and writes of the outbox relay."""

from __future__ import annotations

from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import events as repo
from cmms.db.repos import tenants
from cmms.domain.errors import Gone
from cmms.domain.events import visible_rooms
from cmms.domain.roles import Actor
from cmms.services.deps import Deps


async def replay(deps: Deps, actor: Actor, after: int, limit: int) -> dict[str, Any]:
    """Visible events after `after`, oldest first; 410 when retention already dropped some of them."""
    async with transaction(deps.pool, actor.tenant_id) as cur:
        latest = await repo.current_seq(cur, actor.tenant_id)
        oldest = await repo.oldest_seq(cur, actor.tenant_id)
        first_kept = oldest if oldest is not None else latest + 1
        if after < first_kept - 1:
            raise Gone(f"events after {after} are past retention; reload and continue from {latest}")
        rows = await repo.after(cur, actor.tenant_id, after, visible_rooms(actor), limit)
    return {
        "items": rows,
        "next_cursor": str(rows[-1]["seq"]) if len(rows) == limit else None,
        "last_seq": latest,
    }


async def backlog(deps: Deps) -> list[dict[str, Any]]:
    async with transaction(deps.pool, None) as cur:
        return await repo.relay_backlog(cur)


async def batch(deps: Deps, tenant_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    async with transaction(deps.pool, tenant_id) as cur:
        return await repo.relay_batch(cur, tenant_id, after, limit)


async def advance(deps: Deps, tenant_id: int, seq: int) -> None:
    async with transaction(deps.pool, tenant_id) as cur:
        await repo.relay_advance(cur, tenant_id, seq)


async def purge(deps: Deps) -> int:
    """Drop delivered events older than the retention period, tenant by tenant."""
    async with transaction(deps.pool, None) as cur:
        tenant_ids = await tenants.all_ids(cur)
    removed = 0
    for tenant_id in tenant_ids:
        async with transaction(deps.pool, tenant_id) as cur:
            removed += await repo.purge(cur, tenant_id, deps.settings.events.retention_days)
    return removed
