"""`cmms demo` on the real PostgreSQL: its procedures, checklists in several states, time and costs.

The demo tenant has a fixed name, so this module seeds it once for the whole test database.
"""

from __future__ import annotations

from typing import Any

import pytest

from cmms.db.pool import fetchall, transaction
from cmms.demo import seed_demo
from cmms.domain.roles import Actor, Role
from cmms.runtime import Runtime
from cmms.services import kpis, tenants


@pytest.fixture(scope="module")
async def demo(rt: Runtime) -> dict[str, Any]:
    await seed_demo(rt.deps)
    tenant = await tenants.find(rt.deps, "demo")
    assert tenant is not None
    return tenant


async def sql(rt: Runtime, tenant: dict[str, Any], query: str) -> list[dict[str, Any]]:
    async with transaction(rt.deps.pool, tenant["id"]) as cur:
        return await fetchall(cur, query)


async def test_procedures_and_checklists_in_several_states(rt: Runtime, demo: dict[str, Any]) -> None:
    names = {r["name"] for r in await sql(rt, demo, "SELECT name FROM procedures")}
    assert {"Centrifugal pump inspection", "Lubrication round", "Air compressor weekly check"} <= names
    states = await sql(
        rt,
        demo,
        "SELECT o.status, count(i.value) AS recorded, count(*) AS items,"
        " count(*) FILTER (WHERE i.result = 'fail') AS failed"
        " FROM order_checklists c JOIN work_orders o ON o.id = c.order_id"
        " JOIN checklist_items i ON i.order_id = c.order_id GROUP BY o.id, o.status",
    )
    assert any(s["status"] == "completed" and s["recorded"] > 0 for s in states)  # done
    assert any(s["status"] == "in_progress" and s["failed"] == 1 for s in states)  # halfway, with a fail
    assert any(s["recorded"] == 0 for s in states)  # not started
    follow_ups = await sql(rt, demo, "SELECT title FROM work_orders WHERE follow_up_of IS NOT NULL")
    assert len(follow_ups) == 1 and "Vibration, drive end" in follow_ups[0]["title"]
    plans = await sql(rt, demo, "SELECT count(*) AS n FROM plans WHERE procedure_id IS NOT NULL")
    assert plans[0]["n"] > 0
    readings = await sql(rt, demo, "SELECT value FROM meter_readings WHERE meter = 'hours'")
    assert [r["value"] for r in readings] == [1840.0]  # the lubrication round's meter item


async def test_time_costs_and_labour_kpis(rt: Runtime, demo: dict[str, Any]) -> None:
    entries = await sql(rt, demo, "SELECT count(*) AS n, sum(minutes) AS minutes FROM time_entries")
    assert entries[0]["n"] >= 5
    assert len(await sql(rt, demo, "SELECT user_id FROM timers")) == 1
    lines = await sql(rt, demo, "SELECT sum(amount)::text AS total FROM order_costs")
    assert lines[0]["total"] == "756.40"
    rates = await sql(rt, demo, "SELECT hourly_rate::text AS rate FROM users WHERE hourly_rate IS NOT NULL")
    assert sorted(r["rate"] for r in rates) == ["38.50", "42.00"]
    manager = await sql(rt, demo, "SELECT id FROM users WHERE role = 'manager'")
    result = await kpis.compute(rt.deps, Actor(demo["id"], manager[0]["id"], Role.MANAGER))
    assert result.planned_percentage.basis == "labour hours"
    assert result.labour_cost.cost != "0.00" and result.labour_cost.currency == "EUR"
