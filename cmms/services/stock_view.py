"""Parts with their stock per location in one page: what a console's parts list shows and keeps
live from `stock:changed` (the same fields per location as `GET /parts/{id}/stock`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import parts as part_repo
from cmms.db.repos import stock as repo
from cmms.domain import stock as rules
from cmms.domain.inventory import PartQuery
from cmms.domain.roles import STAFF, Actor
from cmms.domain.stock import Level, qty_text
from cmms.services.common import require
from cmms.services.deps import Deps
from cmms.services.parts import present_part
from cmms.services.stock import present_level

Page = tuple[list[dict[str, Any]], str | None]


async def parts_with_stock(deps: Deps, actor: Actor, query: PartQuery) -> Page:
    require(actor, STAFF, "see stock")
    where = crud.Where(actor.tenant_id).eq("number", query.number).eq("barcode", query.barcode)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows, cursor = await crud.page(cur, part_repo.PARTS, where, limit=query.limit, cursor=query.cursor)
        levels = await repo.levels_of(cur, actor.tenant_id, [r["id"] for r in rows])
    by_part: dict[int, list[dict[str, Any]]] = {}
    for level in levels:
        by_part.setdefault(level["part_id"], []).append(level)
    out = []
    for row in rows:
        mine = by_part.get(row["id"], [])
        on_hand = sum((Decimal(v["on_hand"]) for v in mine), rules.ZERO)
        available = sum((Level(v["on_hand"], v["reserved"]).available for v in mine), rules.ZERO)
        locations = [{**present_level(v, row), "location": v["location"]} for v in mine]
        out.append(
            {
                **present_part(row),
                "on_hand": qty_text(on_hand),
                "available": qty_text(available),
                "low": any(v["low"] for v in mine),
                "locations": locations,
            }
        )
    return out, cursor
