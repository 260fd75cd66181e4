"""What the labour KPIs read: time entries started in the period and the repair orders' recorded time.

Grouped in SQL (entries by order type, asset, plant, minutes and rate; repairs by type and whether
any time was recorded), so what comes back does not grow with the number of entries or orders.
"""

from __future__ import annotations

from cmms.db.pool import Cursor, fetchall
from cmms.db.repos import tenants
from cmms.domain import kpi
from cmms.domain.kpi import Period
from cmms.domain.kpi_labour import LabourInputs

PLANT = "(%(plant)s::bigint IS NULL OR o.plant_id = %(plant)s::bigint)"

ENTRIES = f"""
SELECT o.type, o.asset_id, a.name AS asset_name, o.plant_id, p.name AS plant_name,
       t.minutes, t.hourly_rate, count(*) AS n
  FROM time_entries t
  JOIN work_orders o ON o.tenant_id = t.tenant_id AND o.id = t.order_id
  LEFT JOIN assets a ON a.tenant_id = o.tenant_id AND a.id = o.asset_id
  LEFT JOIN plants p ON p.tenant_id = o.tenant_id AND p.id = o.plant_id
 WHERE t.tenant_id = %(tenant)s AND t.started_at >= %(start)s AND t.started_at < %(end)s AND {PLANT}
 GROUP BY o.type, o.asset_id, a.name, o.plant_id, p.name, t.minutes, t.hourly_rate
"""

REPAIRS = f"""
SELECT o.type, count(*) AS n, sum(l.minutes)::bigint AS labour_minutes,
       coalesce(sum(o.downtime_minutes), 0)::bigint AS downtime_minutes
  FROM work_orders o
  LEFT JOIN (SELECT order_id, sum(minutes) AS minutes FROM time_entries
              WHERE tenant_id = %(tenant)s GROUP BY order_id) l ON l.order_id = o.id
 WHERE o.tenant_id = %(tenant)s AND o.status = ANY(%(done)s) AND o.type = ANY(%(repair)s)
   AND o.completed_at >= %(start)s AND o.completed_at < %(end)s AND {PLANT}
 GROUP BY o.type, l.minutes IS NULL
"""


async def inputs(cur: Cursor, tenant_id: int, period: Period, plant_id: int | None) -> LabourInputs:
    params: dict[str, object] = {
        "tenant": tenant_id,
        "plant": plant_id,
        "start": period.start,
        "end": period.end,
        "done": sorted(str(s) for s in kpi.DONE),
        "repair": sorted(str(t) for t in kpi.REPAIR_TYPES),
    }
    tenant = await tenants.get(cur, tenant_id)
    return LabourInputs(
        entries=await fetchall(cur, ENTRIES, params),
        repairs=await fetchall(cur, REPAIRS, params),
        currency=str(tenant["currency"]) if tenant else "EUR",
    )
