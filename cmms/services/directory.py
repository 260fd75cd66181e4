"""The tenant's directory of people: who `#4` is, for every role that may see an order.

Names and roles are not secret inside a tenant (a requester reads who handles the request), so
every authenticated user may read them. E-mail addresses are contact data: staff, who may list
users anyway, see them; requesters do not.

Not cached: user changes are written outside `mutation` and their events have no cache kind, so a
cached copy could not be invalidated; the read is one indexed scan of a tenant's users.
"""

from __future__ import annotations

from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import users as repo
from cmms.domain.roles import Actor
from cmms.services.deps import Deps


async def people(deps: Deps, actor: Actor) -> list[dict[str, Any]]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows = await repo.directory(cur, actor.tenant_id)
    if actor.is_staff:
        return rows
    return [{k: v for k, v in row.items() if k != "email"} for row in rows]
