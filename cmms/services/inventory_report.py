"""The inventory part of the reports: what the stores hold (value per location), what the work
used (issued parts at the cost they left with, per asset and per plant in the period) and what is
short (the low-stock list with its reorder suggestions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import stock_report as repo
from cmms.db.repos import tenants
from cmms.domain.roles import STAFF, Actor
from cmms.services import stock
from cmms.services.common import require
from cmms.services.deps import Deps


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


async def compute(deps: Deps, actor: Actor, *, start: datetime, end: datetime, plant_id: int | None) -> dict[str, Any]:
    require(actor, STAFF, "read the inventory report")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        tenant = await tenants.get(cur, actor.tenant_id)
        locations = await repo.valuation(cur, actor.tenant_id, plant_id)
        by_asset = await repo.used(cur, actor.tenant_id, start, end, plant_id, "asset")
        by_plant = await repo.used(cur, actor.tenant_id, start, end, plant_id, "plant")
    plant_locations = {r["location_id"] for r in locations}
    low = [r for r in await stock.low_stock(deps, actor) if plant_id is None or r["location_id"] in plant_locations]
    currency = str(tenant["currency"]) if tenant else "EUR"
    for rows in (by_asset, by_plant):
        for r in rows:
            r["cost"] = _money(r["cost"])
    for r in locations:
        r["value"] = _money(r["value"])
    return {
        "currency": currency,
        "stock_value": _money(sum(Decimal(r["value"]) for r in locations)),
        "locations": locations,
        "used_by_asset": by_asset,
        "used_by_plant": by_plant,
        "low_stock": low,
    }
