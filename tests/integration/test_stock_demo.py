"""`cmms demo`'s stores on the real PostgreSQL: a store per plant, 40 parts, stock that agrees with
its ledger, purchase orders in every state, parts issued on completed orders, one part short.

The demo tenant has a fixed name: this module uses the one test_demo_work seeded, or seeds it.
"""

from __future__ import annotations

from typing import Any

import pytest

from cmms.db.pool import fetchall, transaction
from cmms.demo import seed_demo
from cmms.runtime import Runtime
from cmms.services import tenants


@pytest.fixture(scope="module")
async def demo(rt: Runtime) -> dict[str, Any]:
    tenant = await tenants.find(rt.deps, "demo")
    if tenant is None:
        await seed_demo(rt.deps)
        tenant = await tenants.find(rt.deps, "demo")
    assert tenant is not None
    return tenant


async def sql(rt: Runtime, tenant: dict[str, Any], query: str) -> list[dict[str, Any]]:
    async with transaction(rt.deps.pool, tenant["id"]) as cur:
        return await fetchall(cur, query)


async def test_the_demo_stores(rt: Runtime, demo: dict[str, Any]) -> None:
    plants = await sql(rt, demo, "SELECT count(*) AS n FROM plants")
    stores = await sql(rt, demo, "SELECT count(DISTINCT plant_id) AS plants, count(*) AS n FROM stock_locations")
    assert stores[0]["n"] == stores[0]["plants"] == plants[0]["n"]
    parts = await sql(rt, demo, "SELECT unit, count(*) AS n FROM parts GROUP BY unit")
    by_unit = {r["unit"]: r["n"] for r in parts}
    assert sum(by_unit.values()) == 40 and by_unit.get("l", 0) >= 4
    statuses = {r["status"] for r in await sql(rt, demo, "SELECT status FROM purchase_orders")}
    assert statuses == {"draft", "ordered", "partially_received", "received", "cancelled"}
    issued = await sql(
        rt,
        demo,
        "SELECT DISTINCT o.status FROM order_parts l JOIN work_orders o ON o.id = l.order_id WHERE l.status = 'issued'",
    )
    assert {r["status"] for r in issued} == {"completed"}
    low = await sql(
        rt, demo, "SELECT p.number FROM stock_levels l JOIN parts p ON p.id = l.part_id WHERE l.on_hand < p.min_qty"
    )
    assert [r["number"] for r in low] == ["CLN-IPA"]
    alerts = await sql(rt, demo, "SELECT message FROM alerts WHERE kind = 'low_stock'")
    assert len(alerts) == 1 and "CLN-IPA" in alerts[0]["message"]
    # the levels are what the ledger says
    mismatch = await sql(
        rt,
        demo,
        "SELECT l.part_id FROM stock_levels l LEFT JOIN ("
        " SELECT part_id, location_id, sum(CASE WHEN kind = 'issue' THEN -qty ELSE qty END) AS q FROM stock_moves"
        " WHERE kind <> 'transfer' GROUP BY 1, 2) m ON m.part_id = l.part_id AND m.location_id = l.location_id"
        " WHERE l.on_hand <> coalesce(m.q, 0)",
    )
    assert mismatch == []
