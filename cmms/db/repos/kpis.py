"""What the KPIs are computed from: grouped work orders, the backlog, PM orders, asset and crew counts.

Orders are grouped in SQL (by asset and type, by status/priority/type, by priority), so what comes
back is bounded by the number of assets with work in the period, not by the number of orders.
The selection rules come from `cmms.domain.kpi`; every query filters by tenant (and RLS applies).
"""

from __future__ import annotations

from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain import kpi
from cmms.domain.kpi import KpiInputs, Period
from cmms.domain.model_types import OrderType
from cmms.domain.workflow import Status

# `%(plant)s` is NULL for every plant of the tenant.
PLANT = "(%(plant)s::bigint IS NULL OR o.plant_id = %(plant)s::bigint)"

COMPLETED = f"""
SELECT o.asset_id, a.name AS asset_name, a.status AS asset_status, o.type,
       count(*) AS n, coalesce(sum(o.downtime_minutes), 0)::bigint AS downtime_minutes
  FROM work_orders o
  LEFT JOIN assets a ON a.tenant_id = o.tenant_id AND a.id = o.asset_id
 WHERE o.tenant_id = %(tenant)s AND o.status = ANY(%(done)s)
   AND o.completed_at >= %(start)s AND o.completed_at < %(end)s AND {PLANT}
 GROUP BY o.asset_id, a.name, a.status, o.type
"""

CREATED = f"""
SELECT o.status, o.priority, o.type, count(*) AS n
  FROM work_orders o
 WHERE o.tenant_id = %(tenant)s AND o.created_at >= %(start)s AND o.created_at < %(end)s AND {PLANT}
 GROUP BY o.status, o.priority, o.type
"""

OPEN = f"""
SELECT o.status, o.priority, count(*) AS n
  FROM work_orders o
 WHERE o.tenant_id = %(tenant)s AND o.status = ANY(%(backlog)s) AND {PLANT}
 GROUP BY o.status, o.priority
"""

PREVENTIVE = f"""
SELECT o.id, o.status, o.type, o.due_at, o.completed_at, p.interval_days
  FROM work_orders o
  LEFT JOIN plans p ON p.tenant_id = o.tenant_id AND p.id = o.plan_id
 WHERE o.tenant_id = %(tenant)s AND o.type = %(preventive)s AND o.status <> %(cancelled)s
   AND o.due_at >= %(start)s AND o.due_at < %(end)s AND {PLANT}
"""

ASSETS = """
SELECT count(*) AS n FROM assets
 WHERE tenant_id = %(tenant)s AND status <> 'retired' AND (%(plant)s::bigint IS NULL OR plant_id = %(plant)s::bigint)
"""

TECHNICIANS = "SELECT count(*) AS n FROM users WHERE tenant_id = %(tenant)s AND role = 'technician' AND active"


async def plant_exists(cur: Cursor, tenant_id: int, plant_id: int) -> bool:
    row = await fetchone(cur, "SELECT 1 AS found FROM plants WHERE tenant_id = %s AND id = %s", (tenant_id, plant_id))
    return row is not None


async def inputs(cur: Cursor, tenant_id: int, period: Period, plant_id: int | None) -> KpiInputs:
    params: dict[str, object] = {
        "tenant": tenant_id,
        "plant": plant_id,
        "start": period.start,
        "end": period.end,
        "done": sorted(str(s) for s in kpi.DONE),
        "backlog": sorted(str(s) for s in kpi.BACKLOG),
        "preventive": str(OrderType.PREVENTIVE),
        "cancelled": str(Status.CANCELLED),
    }
    assets = await fetchone(cur, ASSETS, params)
    technicians = await fetchone(cur, TECHNICIANS, params)
    return KpiInputs(
        period=period,
        plant_id=plant_id,
        completed=await fetchall(cur, COMPLETED, params),
        created=await fetchall(cur, CREATED, params),
        open_orders=await fetchall(cur, OPEN, params),
        preventive=await fetchall(cur, PREVENTIVE, params),
        assets=int(assets["n"]) if assets else 0,
        technicians=int(technicians["n"]) if technicians else 0,
    )
