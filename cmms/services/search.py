"""Full-text search across work orders, assets and the audit trail, scoped to tenant and role.

Who finds what: everyone searches their own tenant only; a requester finds only the orders they
requested (and assets, which every role may read); parts are for staff; the audit trail is for
admins and managers. Naming a kind the caller may not see is refused (403), never silently dropped.
"""

from __future__ import annotations

from typing import Any

from cmms.domain.errors import Forbidden
from cmms.domain.roles import Actor, Role
from cmms.domain.search import (
    KINDS,
    MAX_OFFSET,
    Kind,
    SearchParams,
    SearchQuery,
    decode_cursor,
    encode_cursor,
    parse_query,
)
from cmms.search.base import SearchBackend
from cmms.search.postgres import PostgresSearch
from cmms.services.deps import Deps


def backend(deps: Deps) -> SearchBackend:
    """The configured backend (`Deps.search`), else PostgreSQL search on the pool's database."""
    return deps.search if deps.search is not None else PostgresSearch(deps.pool)


def allowed_kinds(actor: Actor, wanted: list[Kind] | None) -> tuple[Kind, ...]:
    hidden = {"parts"} if actor.role == Role.REQUESTER else set()
    if not actor.is_supervisor:
        hidden.add("audit")
    visible = tuple(k for k in KINDS if k not in hidden)
    if wanted is None:
        return visible
    if "audit" in wanted and "audit" in hidden:
        raise Forbidden("only admins and managers may search the audit trail", field="type")
    if "parts" in wanted and "parts" in hidden:
        raise Forbidden("only staff search the parts of the stores", field="type")
    return tuple(k for k in KINDS if k in wanted)


def build_query(actor: Actor, params: SearchParams) -> SearchQuery:
    offset = decode_cursor(params.cursor)
    own = (actor.user_id or 0) if actor.role == Role.REQUESTER else None
    return SearchQuery(
        parsed=parse_query(params.q),
        kinds=allowed_kinds(actor, params.type),
        status=tuple(str(s) for s in params.status or ()),
        priority=tuple(str(p) for p in params.priority or ()),
        criticality=tuple(str(c) for c in params.criticality or ()),
        plant_id=params.plant_id,
        requested_by=own,
        limit=params.limit,
        offset=offset,
    )


async def search(deps: Deps, actor: Actor, params: SearchParams) -> dict[str, Any]:
    query = build_query(actor, params)
    result = await backend(deps).search(actor.tenant_id, query)
    following = query.offset + len(result.items)
    more = bool(result.items) and following < result.total and following <= MAX_OFFSET
    return {
        "items": result.items,
        "facets": result.facets,
        "total": result.total,
        "total_relation": result.total_relation,
        "next_cursor": encode_cursor(following) if more else None,
        "mode": result.mode,
        "suggestion": result.suggestion,
        "backend": result.backend,
    }


async def reindex(deps: Deps, tenant_id: int | None = None) -> dict[str, Any]:
    """`cmms search reindex`: rebuild the external index (PostgreSQL needs nothing)."""
    return await backend(deps).reindex(tenant_id)
