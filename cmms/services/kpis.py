"""KPIs of a tenant for a period and optional plant: staff read them; the reports job renders them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cmms.db.pool import transaction
from cmms.db.repos import kpi_labour as labour_repo
from cmms.db.repos import kpis as repo
from cmms.domain import kpi
from cmms.domain.errors import ValidationFailed
from cmms.domain.roles import STAFF, Actor
from cmms.services.common import require
from cmms.services.deps import Deps


async def compute(
    deps: Deps,
    actor: Actor,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    plant_id: int | None = None,
) -> kpi.Kpis:
    """The KPIs for [start, end) (default: the last 30 days) over every plant or one plant."""
    require(actor, STAFF, "read maintenance KPIs")
    period = kpi.resolve_period(start, end, deps.clock())
    async with transaction(deps.pool, actor.tenant_id) as cur:
        if plant_id is not None and not await repo.plant_exists(cur, actor.tenant_id, plant_id):
            raise ValidationFailed(f"plant {plant_id} does not exist", field="plant_id")
        data = await repo.inputs(cur, actor.tenant_id, period, plant_id)
        labour = await labour_repo.inputs(cur, actor.tenant_id, period, plant_id)
    return kpi.compute(replace(data, labour=labour))
