"""PM recalculation for one tenant: every active plan, then condition alerts from readings.

`as_of` evaluates the plans at 00:00 UTC of that date instead of now. Each plan is decided in
its own transaction, so a cancelled or failed run keeps what it finished and a rerun (or a
concurrent run) repeats nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time

from cmms.domain.errors import DomainError
from cmms.domain.jobs import MaintenanceParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import maintenance

log = logging.getLogger(__name__)


async def run(ctx: JobContext, params: MaintenanceParams) -> JobResult:
    if ctx.tenant_id is None:
        raise ValueError("maintenance runs per tenant")
    now = datetime.combine(params.as_of, time.min, UTC) if params.as_of else ctx.deps.clock()
    actor = ctx.actor
    plan_ids = await maintenance.active_plan_ids(ctx.deps, actor)
    created = rolled = skipped = overdue = failed = 0
    for i, plan_id in enumerate(plan_ids, 1):
        try:
            outcome = await maintenance.process_plan(ctx.deps, actor, plan_id, now)
        except DomainError as exc:  # e.g. the plan was deleted meanwhile; the others go on
            log.warning("maintenance: plan %s skipped: %s", plan_id, exc)
            failed += 1
        else:
            created += outcome.order_id is not None
            rolled += outcome.rolled
            skipped += outcome.skipped
            overdue += outcome.overdue_alert
        await ctx.progress(i / (len(plan_ids) + 1), f"plan {i} of {len(plan_ids)}")
    conditions = await maintenance.condition_alerts(ctx.deps, actor)
    return JobResult(
        summary={
            "as_of": now.isoformat(),
            "plans": len(plan_ids),
            "orders_created": created,
            "plans_rolled": rolled,
            "occurrences_skipped": skipped,
            "overdue_alerts": overdue,
            "condition_alerts": conditions,
            "alerts_raised": overdue + conditions,
            "plans_failed": failed,
        }
    )
