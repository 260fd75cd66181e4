"""Cache warming: load the lists technicians open first, for every (or the chosen) plant."""

from __future__ import annotations

from cmms.domain.jobs import CacheParams
from cmms.domain.model_queries import AlertQuery, AssetQuery, OrderQuery, PageQuery, PlanQuery
from cmms.domain.workflow import ACTIVE
from cmms.jobs.context import JobContext, JobResult
from cmms.services import alerts, assets, orders, plans, plants


async def run(ctx: JobContext, params: CacheParams) -> JobResult:
    actor = ctx.actor
    plant_ids = params.plant_ids
    if plant_ids is None:
        plant_ids, cursor = [], None
        while True:
            rows, cursor = await plants.list_plants(ctx.deps, actor, PageQuery(limit=200, cursor=cursor))
            plant_ids += [p["id"] for p in rows]
            if cursor is None:
                break
    await orders.list_orders(ctx.deps, actor, OrderQuery(status=sorted(ACTIVE)))
    await alerts.list_alerts(ctx.deps, actor, AlertQuery(status=["open"]))
    await plans.list_plans(ctx.deps, actor, PlanQuery())
    warmed = 3
    for i, plant_id in enumerate(plant_ids, 1):
        await assets.list_for_plant(ctx.deps, actor, plant_id, AssetQuery())
        await orders.list_orders(ctx.deps, actor, OrderQuery(plant_id=plant_id, status=sorted(ACTIVE)))
        warmed += 2
        await ctx.progress(i / len(plant_ids), f"plant {i} of {len(plant_ids)}")
    return JobResult(summary={"plants": len(plant_ids), "lists_warmed": warmed})
