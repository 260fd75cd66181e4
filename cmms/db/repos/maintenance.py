"""What PM recalculation reads: due plans, the orders a plan generated, readings past their limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone

ACTIVE = ("requested", "open", "in_progress", "on_hold")
DONE = ("completed", "closed")
# Condition checks look back this far before the previous run started: a reading's created_at is
# the start of its transaction, which may commit after a run has already looked.
OVERLAP = "1 hour"
FIRST_LOOK_BACK = "1 day"  # a tenant's first run checks the readings of the last day


async def active_plan_ids(cur: Cursor, tenant_id: int) -> list[int]:
    """Active plans of assets still in service, oldest first."""
    rows = await fetchall(
        cur,
        "SELECT p.id FROM plans p JOIN assets a ON a.tenant_id = p.tenant_id AND a.id = p.asset_id"
        " WHERE p.tenant_id = %s AND p.active AND a.status <> 'retired' ORDER BY p.id",
        (tenant_id,),
    )
    return [int(r["id"]) for r in rows]


async def open_order(cur: Cursor, tenant_id: int, plan_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT * FROM work_orders WHERE tenant_id = %s AND plan_id = %s AND status = ANY(%s) ORDER BY id DESC LIMIT 1",
        (tenant_id, plan_id, list(ACTIVE)),
    )


async def newest_order(cur: Cursor, tenant_id: int, plan_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT * FROM work_orders WHERE tenant_id = %s AND plan_id = %s ORDER BY id DESC LIMIT 1",
        (tenant_id, plan_id),
    )


async def completed_since(cur: Cursor, tenant_id: int, plan_id: int, since: datetime | None) -> dict[str, Any] | None:
    """The plan's most recently completed order, if it was completed after `since`."""
    return await fetchone(
        cur,
        "SELECT * FROM work_orders WHERE tenant_id = %s AND plan_id = %s AND status = ANY(%s)"
        " AND completed_at IS NOT NULL AND completed_at > coalesce(%s, '-infinity'::timestamptz)"
        " ORDER BY completed_at DESC, id DESC LIMIT 1",
        (tenant_id, plan_id, list(DONE), since),
    )


async def latest_reading(
    cur: Cursor, tenant_id: int, asset_id: int, meter: str, *, until: datetime | None = None
) -> dict[str, Any] | None:
    """The newest reading of a meter (taken at or before `until`): {value, at}."""
    return await fetchone(
        cur,
        "SELECT value, at FROM meter_readings WHERE tenant_id = %s AND asset_id = %s AND meter = %s"
        " AND at <= coalesce(%s, 'infinity'::timestamptz) ORDER BY at DESC, id DESC LIMIT 1",
        (tenant_id, asset_id, meter, until),
    )


async def alert_exists(cur: Cursor, tenant_id: int, asset_id: int | None, kind: str, prefix: str) -> bool:
    row = await fetchone(
        cur,
        "SELECT EXISTS (SELECT 1 FROM alerts WHERE tenant_id = %s AND asset_id IS NOT DISTINCT FROM %s"
        " AND kind = %s AND starts_with(message, %s)) AS found",
        (tenant_id, asset_id, kind, prefix),
    )
    return bool(row and row["found"])


async def lock_condition_checks(cur: Cursor, tenant_id: int) -> None:
    """One condition check per tenant at a time (until the transaction ends)."""
    await cur.execute("SELECT pg_advisory_xact_lock(hashtext('cmms:condition-check'), %s::int)", (tenant_id,))


async def unalerted_breaches(cur: Cursor, tenant_id: int, limit: int = 10_000) -> list[dict[str, Any]]:
    """Readings taken and recorded since the tenant's previous maintenance run that are outside
    their meter's current limits, and that no condition alert about that meter has covered since.

    Recording readings raises an alert in the same transaction (same `created_at`), so readings
    that breached the limits when recorded are covered already; what is left are readings that
    breach limits tightened since, or readings that arrived some other way. A reading back-dated
    to before the previous run was checked against the limits of its day when recorded.
    """
    return await fetchall(
        cur,
        "WITH since AS (SELECT coalesce("
        "  (SELECT max(started_at) FROM jobs WHERE tenant_id = %(t)s AND kind = 'maintenance'"
        f"   AND status = 'completed') - interval '{OVERLAP}', now() - interval '{FIRST_LOOK_BACK}') AS at),"
        " limits AS ("
        "  SELECT a.id AS asset_id, m->>'name' AS meter,"
        "   CASE WHEN jsonb_typeof(m->'min') = 'number' THEN (m->>'min')::float8 END AS low,"
        "   CASE WHEN jsonb_typeof(m->'max') = 'number' THEN (m->>'max')::float8 END AS high"
        "  FROM assets a CROSS JOIN LATERAL jsonb_array_elements(a.meters) AS m"
        "  WHERE a.tenant_id = %(t)s AND jsonb_typeof(a.meters) = 'array')"
        " SELECT r.id, r.asset_id, r.meter, r.value, r.at, r.created_at"
        " FROM limits l CROSS JOIN since"
        " JOIN meter_readings r ON r.tenant_id = %(t)s AND r.asset_id = l.asset_id AND r.meter = l.meter"
        " WHERE (l.low IS NOT NULL OR l.high IS NOT NULL)"
        "  AND r.at >= since.at AND r.created_at >= since.at"
        "  AND (r.value > l.high OR r.value < l.low)"
        "  AND NOT EXISTS (SELECT 1 FROM alerts al WHERE al.tenant_id = %(t)s AND al.asset_id = r.asset_id"
        "   AND al.kind = 'condition' AND al.created_at >= r.created_at"
        "   AND starts_with(al.message, 'meter ' || r.meter || ' reading '))"
        " ORDER BY r.asset_id, r.meter, r.id LIMIT %(limit)s",
        {"t": tenant_id, "limit": limit},
    )
