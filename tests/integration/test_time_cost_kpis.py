"""Labour KPIs on a small data set whose numbers are computed by hand below.

Period [START, END) of 8 days. Rates: technician 40.00, technician2 50.00 (EUR).

| order                | plant | type       | time in the period          | other time        | downtime | done |
|----------------------|-------|------------|-----------------------------|-------------------|----------|------|
| PM pump              | North | preventive | 120 min @40 + 60 min @50    |                   |          | no   |
| inspect fan          | South | inspection | 30 min @40                  |                   |          | no   |
| repair pump          | North | corrective | 90 min @40                  | 600 min before it | 300 min  | yes  |
| emergency fan        | South | emergency  | none                        |                   | 120 min  | yes  |
| repair fan           | South | corrective | 45 min @50 (overtime)       |                   |          | yes  |

SMRP planned maintenance % = planned labour / all labour = (120 + 60 + 30) / (210 + 90 + 45)
= 210 / 345 = 60.87 %; North only: 180 / 270 = 66.67 %.
MTTR from repair time: repair pump 690 min (all its labour), emergency fan 120 min (downtime: no
time recorded), repair fan 45 min: 855 / 3 = 285 min = 4.75 h, 2 of 3 timed.
Labour cost in the period: 80.00 + 50.00 + 20.00 + 60.00 + 37.50 = 247.50 over 5.75 h; pump
190.00 (4.5 h), fan 57.50 (1.25 h); North 190.00, South 57.50.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmms.domain.model import TransitionIn
from cmms.jobs.tasks import reports
from cmms.runtime import Runtime
from cmms.services import kpis
from cmms.services import orders as orders_service
from tests.integration.support import Tenant, make_tenant, ok, unique

NOW = datetime.now(UTC)
START = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
END = START + timedelta(days=8)
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


def day(days: float) -> datetime:
    return START + timedelta(days=days)


@pytest.fixture(scope="module")
async def crew(rt: Runtime, client: Any) -> dict[str, Any]:
    tenant = await make_tenant(rt, client, {"admin": "admin", "manager": "manager", "technician": "technician"})
    await tenant.add_user("technician2", "technician")
    admin, manager = tenant["admin"], tenant["manager"]
    for key, rate in (("technician", "40.00"), ("technician2", "50.00")):
        ok(await manager.patch(f"/api/v1/users/{tenant[key].user_id}", {"hourly_rate": rate}))
    north = ok(await admin.post("/api/v1/plants", {"name": unique("North")}), 201)
    south = ok(await admin.post("/api/v1/plants", {"name": unique("South")}), 201)
    pump = ok(await admin.post("/api/v1/assets", {"name": "Pump P-101", "plant_id": north["id"]}), 201)
    fan = ok(await admin.post("/api/v1/assets", {"name": "Fan F-7", "plant_id": south["id"]}), 201)

    async def work(title: str, kind: str, asset: dict[str, Any], downtime: int = 0) -> dict[str, Any]:
        body = {"title": title, "type": kind, "asset_id": asset["id"], "assignee_id": tenant["technician"].user_id}
        wo = ok(await admin.post("/api/v1/orders", body), 201)
        if downtime:
            ok(await admin.patch(f"/api/v1/orders/{wo['id']}", {"downtime_minutes": downtime}))
        return wo

    async def log(wo: dict[str, Any], who: str, minutes: int, at: datetime, category: str = "normal") -> None:
        body = {"minutes": minutes, "started_at": at.isoformat(), "user_id": tenant[who].user_id, "category": category}
        ok(await manager.post(f"/api/v1/orders/{wo['id']}/time", body), 201)

    async def complete(wo: dict[str, Any], at: datetime) -> None:
        deps = replace(rt.deps, clock=lambda: at)
        for step in ("in_progress", "completed"):
            await orders_service.transition(deps, tenant.operator, wo["id"], TransitionIn(to=step), None)

    pm = await work("PM pump", "preventive", pump)
    await log(pm, "technician", 120, day(1))
    await log(pm, "technician2", 60, day(1.1))
    inspect = await work("Inspect fan", "inspection", fan)
    await log(inspect, "technician", 30, day(2))
    repair = await work("Repair pump", "corrective", pump, downtime=300)
    await log(repair, "technician", 600, day(-1))  # before the period: repair time, not period labour
    await log(repair, "technician", 90, day(3))
    await complete(repair, day(3.5))
    emergency = await work("Emergency fan", "emergency", fan, downtime=120)
    await complete(emergency, day(4))
    fan_repair = await work("Repair fan", "corrective", fan)
    await log(fan_repair, "technician2", 45, day(5), "overtime")
    await complete(fan_repair, day(5.5))
    return {"tenant": tenant, "north": north, "south": south, "pump": pump, "fan": fan}


async def test_labour_kpis_match_the_hand_computed_figures(crew: dict[str, Any]) -> None:
    tenant: Tenant = crew["tenant"]
    body = ok(await tenant["manager"].get("/api/v1/kpis", params=PERIOD))
    planned = body["planned_percentage"]
    assert (planned["basis"], planned["percent"], planned["planned_hours"], planned["total_hours"]) == (
        "labour hours",
        60.87,
        3.5,
        5.75,
    )
    mttr = body["mttr"]
    assert (mttr["basis"], mttr["hours"], mttr["repairs"], mttr["timed_repairs"], mttr["repair_hours"]) == (
        "repair time",
        4.75,
        3,
        2,
        14.25,
    )
    labour = body["labour_cost"]
    assert (labour["hours"], labour["cost"], labour["currency"]) == (5.75, "247.50", "EUR")
    assert [(a["asset_id"], a["hours"], a["cost"]) for a in labour["by_asset"]] == [
        (crew["pump"]["id"], 4.5, "190.00"),
        (crew["fan"]["id"], 1.25, "57.50"),
    ]
    assert [(p["plant_id"], p["cost"]) for p in labour["by_plant"]] == [
        (crew["north"]["id"], "190.00"),
        (crew["south"]["id"], "57.50"),
    ]
    north = ok(await tenant["manager"].get("/api/v1/kpis", params={**PERIOD, "plant_id": crew["north"]["id"]}))
    assert (north["planned_percentage"]["percent"], north["labour_cost"]["cost"]) == (66.67, "190.00")
    # North's only repair has 690 min of labour.
    assert (north["mttr"]["hours"], north["mttr"]["basis"]) == (11.5, "repair time")


async def test_without_time_the_order_count_fallback_says_so(rt: Runtime, client: Any) -> None:
    bare = await make_tenant(rt, client, {"manager": "manager"})
    body = ok(await bare["manager"].get("/api/v1/kpis", params=PERIOD))
    assert body["planned_percentage"]["basis"] == "order counts"
    assert body["mttr"]["basis"] == "downtime"
    assert (body["labour_cost"]["hours"], body["labour_cost"]["cost"]) == (0.0, "0.00")


async def test_the_report_shows_labour(rt: Runtime, crew: dict[str, Any]) -> None:
    tenant: Tenant = crew["tenant"]
    manager = replace(tenant.operator, user_id=tenant["manager"].user_id)
    result = await kpis.compute(rt.deps, manager, start=START, end=END)
    markdown = reports.render_md(result, None, NOW)
    assert "## Labour" in markdown and "247.50 EUR" in markdown
    assert "planned maintenance by labour hours (3.50 h of 5.75 h)" in markdown
    assert "MTTR from repair time (2 of 3 repairs with recorded time)" in markdown
    page = reports.render_html(result, None, NOW)
    assert "<h2>Labour</h2>" in page and "Pump P-101" in page and "190.00 EUR" in page
    summary = reports.summary(result, "md")
    assert (summary["planned_basis"], summary["labour_cost"], summary["planned_percent"]) == (
        "labour hours",
        "247.50",
        60.87,
    )
