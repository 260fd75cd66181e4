"""KPIs over real data: `GET /api/v1/kpis` numbers and roles, and the reports job end to end.

Orders are created and edited through the API; their completion times are placed in the past by
running the order service's transitions with a clock set to the wanted instant, so every number
below is computed by hand from the seeded downtime and dates.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from cmms.api.app import _authenticated, make_app
from cmms.api.routes import ALL_TABLES
from cmms.api.routes import kpis as kpi_routes
from cmms.db.pool import transaction
from cmms.db.repos import jobs as jobs_repo
from cmms.domain.jobs import JobKind
from cmms.domain.model import TransitionIn
from cmms.domain.roles import Actor, Role
from cmms.jobs.context import JobCancelled, JobContext, JobResult
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.tasks import reports
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from cmms.services import orders as orders_service
from tests.integration.support import Api, Tenant, assert_problem, ok, unique

KPIS = "/api/v1/kpis"
NOW = datetime.now(UTC)
START = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=10)  # the period [START, END): 192 h
END = START + timedelta(days=8)
PRESS = 'Press <b> & "Co"'


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


PERIOD = {"from": iso(START), "to": iso(END)}


def day(days: float) -> datetime:
    return START + timedelta(days=days)


# ---- a client that serves /api/v1/kpis whether or not ALL_TABLES lists it yet --------------------


@pytest.fixture(scope="module")
async def kpi_client(rt: Runtime, client: TestClient) -> AsyncIterator[TestClient]:
    if any(r.path == KPIS for table in ALL_TABLES for r in table.routes):
        yield client
        return
    app = make_app(rt.deps, rt.readiness)
    for route in kpi_routes.routes.routes:
        app.router.add_route(route.method, route.path, _authenticated(route.handler))
    own = TestClient(TestServer(app))
    await own.start_server()
    try:
        yield own
    finally:
        await own.close()


@dataclass
class Site:
    tenant: Tenant
    kpi_client: TestClient
    plant: dict[str, Any]
    other_plant: dict[str, Any]
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def api(self, role: str) -> Api:
        """The role's logged-in caller, on the client that serves the KPIs."""
        base = self.tenant[role]
        return Api(self.kpi_client, base.token, user=base.user)

    async def kpis(self, role: str = "manager", **params: Any) -> dict[str, Any]:
        return ok(await self.api(role).get(KPIS, params=params))


async def new_order(tenant: Tenant, role: str = "manager", **body: Any) -> dict[str, Any]:
    return ok(await tenant[role].post("/api/v1/orders", {"title": unique("wo"), **body}), 201)


async def move(rt: Runtime, tenant: Tenant, order: dict[str, Any], *steps: tuple[str, datetime]) -> None:
    """Status changes through the order service, each stamped at the given instant."""
    actor = Actor(tenant.id, tenant.users["manager"]["id"], Role.MANAGER)
    for status, at in steps:
        deps = replace(rt.deps, clock=lambda at=at: at)
        await orders_service.transition(deps, actor, order["id"], TransitionIn(to=status), None)


async def repaired(
    rt: Runtime, tenant: Tenant, done: datetime, downtime: int, *, close: bool = False, **body: Any
) -> dict[str, Any]:
    """An order worked and completed at `done` with `downtime` minutes (PATCHed through the API)."""
    order = await new_order(tenant, **body)
    if downtime:
        ok(await tenant["manager"].patch(f"/api/v1/orders/{order['id']}", {"downtime_minutes": downtime}))
    steps = [("in_progress", done - timedelta(hours=1)), ("completed", done)]
    if close:
        steps.append(("closed", done + timedelta(hours=1)))
    await move(rt, tenant, order, *steps)
    return order


@pytest.fixture(scope="module")
async def site(rt: Runtime, tenant: Tenant, kpi_client: TestClient) -> Site:
    manager = tenant["manager"]
    plant = ok(await manager.post("/api/v1/plants", {"name": unique("plant")}), 201)
    other_plant = ok(await manager.post("/api/v1/plants", {"name": unique("plant")}), 201)
    s = Site(tenant, kpi_client, plant, other_plant)
    for key, name, where in [
        ("press", PRESS, plant),
        ("pump", "Pump", plant),
        ("fan", "Fan", plant),
        ("old", "Old", plant),
        ("mixer", "Mixer", other_plant),
    ]:
        s.assets[key] = ok(await manager.post("/api/v1/assets", {"name": name, "plant_id": where["id"]}), 201)
    a = {k: v["id"] for k, v in s.assets.items()}
    plan = ok(
        await manager.post("/api/v1/plans", {"asset_id": a["pump"], "title": "Pump PM", "interval_days": 30}), 201
    )

    # Completed in the period: four repairs (three on considered assets), two planned orders.
    await repaired(rt, tenant, day(1), 120, asset_id=a["press"])
    await repaired(rt, tenant, day(2), 60, asset_id=a["press"], type="emergency")
    await repaired(rt, tenant, day(3), 30, asset_id=a["pump"])
    await repaired(rt, tenant, day(4), 90, asset_id=a["pump"], type="preventive")
    await repaired(rt, tenant, day(5), 0, asset_id=a["fan"], type="inspection", close=True)
    await repaired(rt, tenant, day(1), 330, asset_id=a["old"])
    ok(await manager.patch(f"/api/v1/assets/{a['old']}", {"status": "retired"}))
    # Outside the period, or never done: no effect on the period's numbers.
    await repaired(rt, tenant, END + timedelta(days=1), 45, asset_id=a["fan"])
    cancelled = await new_order(tenant, asset_id=a["pump"])
    await move(rt, tenant, cancelled, ("cancelled", day(2)))
    # In the other plant: one repair.
    await repaired(rt, tenant, day(2), 60, asset_id=a["mixer"])

    # Preventive orders due in the period: on time, late (plan grace 3 days), late (no plan), missed.
    p1 = await repaired(rt, tenant, day(3), 0, plant_id=plant["id"], type="preventive", due_at=iso(day(1)))
    p2 = await repaired(rt, tenant, day(6), 0, plant_id=plant["id"], type="preventive", due_at=iso(day(2)))
    await repaired(
        rt, tenant, day(3) + timedelta(hours=1), 0, plant_id=plant["id"], type="preventive", due_at=iso(day(3))
    )
    await new_order(tenant, plant_id=plant["id"], type="preventive", due_at=iso(day(4)))  # open: missed
    await tenant.sql(
        "UPDATE work_orders SET plan_id = %s WHERE id = ANY(%s) RETURNING id", (plan["id"], [p1["id"], p2["id"]])
    )

    # The backlog: open (high), in progress (critical), on hold (low) and the missed PM (medium);
    # a request not yet approved does not count.
    await new_order(tenant, plant_id=plant["id"], priority="high")
    b2 = await new_order(tenant, plant_id=plant["id"], priority="critical")
    await move(rt, tenant, b2, ("in_progress", NOW))
    b3 = await new_order(tenant, plant_id=plant["id"], priority="low")
    await move(rt, tenant, b3, ("in_progress", NOW), ("on_hold", NOW))
    await new_order(tenant, "requester", plant_id=plant["id"], priority="high")
    return s


# ---- GET /api/v1/kpis -----------------------------------------------------------------------------


async def test_kpis_of_one_plant(site: Site) -> None:
    k = await site.kpis(**PERIOD, plant_id=site.plant["id"])
    assert k["period"]["from"] == PERIOD["from"] and k["period"]["to"] == PERIOD["to"]
    assert k["period"]["plant_id"] == site.plant["id"]
    assert k["period"]["observed_hours"] == 192.0

    # MTTR: 120 + 60 + 30 + 330 min over 4 repairs = 9 h / 4.
    assert k["mttr"] == {**k["mttr"], "hours": 2.25, "repairs": 4, "repair_hours": 9.0}
    # MTBF: 3 assets x 192 h - (3 h press + 2 h pump) = 571 h over 3 failures (the retired asset is out).
    mtbf = k["mtbf"]
    assert (mtbf["hours"], mtbf["failures"], mtbf["operating_hours"], mtbf["assets"]) == (190.33, 3, 571.0, 3)
    assert [(a["name"], a["failures"], a["operating_hours"], a["mtbf_hours"]) for a in mtbf["by_asset"]] == [
        (PRESS, 2, 189.0, 94.5),
        ("Pump", 1, 190.0, 190.0),
    ]
    # PM compliance: 1 on time of 4 (2 late, 1 missed).
    pm = k["pm_compliance"]
    assert (pm["on_time"], pm["late"], pm["missed"], pm["pending"], pm["percent"]) == (1, 2, 1, 0, 25.0)
    # Planned: preventive 4 + inspection 1 of 9 completed orders.
    pp = k["planned_percentage"]
    assert (pp["planned"], pp["total"], pp["percent"], pp["basis"]) == (5, 9, 55.56, "order counts")
    # Backlog: high 6 + critical 8 + low 2 + medium 4 = 20 h; one technician: 40 h a week.
    bl = k["backlog"]
    assert (bl["orders"], bl["hours"], bl["technicians"], bl["crew_weeks"]) == (4, 20.0, 1, 0.5)
    assert bl["by_priority"] == {"low": 1, "medium": 1, "high": 1, "critical": 1}
    # Downtime per asset, the retired one included; the fan had none.
    assert [(a["name"], a["downtime_hours"], a["orders"]) for a in k["top_assets_by_downtime"]] == [
        ("Old", 5.5, 1),
        (PRESS, 3.0, 2),
        ("Pump", 2.0, 2),
    ]
    # Every order was created today, so none in the period.
    assert k["orders"]["total"] == 0


async def test_every_plant_and_the_other_plant(site: Site) -> None:
    every = await site.kpis(**PERIOD)
    assert every["period"]["plant_id"] is None
    assert (every["mttr"]["repairs"], every["mttr"]["hours"]) == (5, 2.0)  # + 60 min in the other plant
    assert (every["mtbf"]["assets"], every["mtbf"]["failures"], every["mtbf"]["hours"]) == (4, 4, 190.5)
    other = await site.kpis(**PERIOD, plant_id=site.other_plant["id"])
    assert (other["mttr"]["repairs"], other["mttr"]["hours"]) == (1, 1.0)
    assert (other["mtbf"]["operating_hours"], other["mtbf"]["hours"]) == (191.0, 191.0)
    assert other["pm_compliance"]["percent"] is None
    assert other["backlog"]["orders"] == 0


async def test_orders_by_status_priority_and_type(site: Site) -> None:
    around_now = {"from": iso(NOW - timedelta(days=1)), "to": iso(NOW + timedelta(days=1))}
    counts = (await site.kpis(**around_now, plant_id=site.plant["id"]))["orders"]
    assert counts["total"] == 16
    assert counts["by_status"] == {
        "requested": 1,
        "open": 2,
        "in_progress": 1,
        "on_hold": 1,
        "completed": 9,
        "closed": 1,
        "cancelled": 1,
    }
    assert counts["by_priority"] == {"low": 1, "medium": 12, "high": 2, "critical": 1}
    assert counts["by_type"] == {"corrective": 9, "preventive": 5, "inspection": 1, "emergency": 1}


async def test_default_period_is_the_last_30_days(site: Site) -> None:
    before = datetime.now(UTC)
    k = await site.kpis()
    after = datetime.now(UTC)
    to = datetime.fromisoformat(k["period"]["to"])
    assert before - timedelta(seconds=1) <= to <= after
    assert datetime.fromisoformat(k["period"]["from"]) == to - timedelta(days=30)
    assert k["mttr"]["repairs"] == 6  # the five in the period and the one a day after it


async def test_roles(site: Site) -> None:
    assert (await site.kpis("technician", **PERIOD))["mttr"]["repairs"] == 5
    assert (await site.kpis("admin", **PERIOD))["mttr"]["repairs"] == 5
    assert_problem(await site.api("requester").get(KPIS), 403)
    assert_problem(await Api(site.kpi_client).get(KPIS), 401)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "2026-03-01T00:00:00"}, "from"),  # no offset
        ({"from": "yesterday"}, "from"),
        ({"to": "1800-01-01T00:00:00Z"}, "to"),
        ({"plant_id": "0"}, "plant_id"),
        ({"plant_id": "x"}, "plant_id"),
        ({"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),  # longer than ten years
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_queries_are_422(site: Site, params: dict[str, str], field: str) -> None:
    assert_problem(await site.api("manager").get(KPIS, params=params), 422, field=field)


async def test_unknown_or_foreign_plant_is_422(site: Site, other: Tenant) -> None:
    assert_problem(await site.api("manager").get(KPIS, params={"plant_id": 999_999_999}), 422, field="plant_id")
    foreign = Api(site.kpi_client, other["admin"].token, user=other["admin"].user)
    assert_problem(await foreign.get(KPIS, params={"plant_id": site.plant["id"]}), 422, field="plant_id")
    theirs = ok(await foreign.get(KPIS, params=PERIOD))  # another tenant sees none of this tenant's work
    assert (theirs["mttr"]["repairs"], theirs["mtbf"]["assets"], theirs["backlog"]["orders"]) == (0, 0, 0)


# ---- the reports job ------------------------------------------------------------------------------


async def no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


def worker(rt: Runtime, emit: Any = no_emit, registry: Any = None) -> Worker:
    return Worker(rt.deps, rt.data_dir, emit, DelayedJobs(rt.deps.redis, rt.job_system.queue), registry)


async def finished(api: Api, job_id: int, timeout: float = 30.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = ok(await api.get(f"/api/v1/jobs/{job_id}"))
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.05)


async def report(rt: Runtime, site: Site, params: dict[str, Any], role: str = "manager") -> tuple[dict[str, Any], Any]:
    """Start a report through the API, run it here, and fetch the finished job and its result."""
    api = site.tenant[role]
    job = ok(await api.post("/api/v1/jobs", {"kind": "reports", "params": params}), 202)
    await worker(rt).run(job["id"], site.tenant.id)  # a no-op if a worker elsewhere took it first
    job = await finished(api, job["id"])
    assert job["status"] == "completed", job
    assert job["progress"] == 1.0
    return job, await api.get(f"/api/v1/jobs/{job['id']}/result")


async def test_html_report(rt: Runtime, site: Site) -> None:
    job, result = await report(rt, site, {"format": "html", **PERIOD, "plant_id": site.plant["id"]})
    assert result.status == 200, result
    assert result.headers["Content-Type"] == "text/html; charset=utf-8"
    page = result.text
    assert page.startswith("<!DOCTYPE html>")
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ET.fromstring(svg)
    for shown in ("2.25 h", "190.33 h", "25.00%", "55.56%", "20.00 h", "0.50", "5.50 h"):
        assert shown in page, shown
    assert "Press &lt;b&gt; &amp; &quot;Co&quot;" in page
    assert "<b>" not in page and "<script" not in page
    assert site.plant["name"] in page
    summary = job["result"]
    assert summary["format"] == "html"
    assert (summary["mttr_hours"], summary["mtbf_hours"], summary["pm_compliance_percent"]) == (2.25, 190.33, 25.0)
    assert (summary["planned_percent"], summary["backlog_hours"], summary["backlog_crew_weeks"]) == (55.56, 20.0, 0.5)
    assert summary["plant_id"] == site.plant["id"]
    assert job["result_type"] == "text/html; charset=utf-8"


async def test_markdown_report(rt: Runtime, site: Site) -> None:
    _, result = await report(rt, site, {"format": "md", **PERIOD, "plant_id": site.plant["id"]}, role="technician")
    assert result.status == 200, result
    assert result.headers["Content-Type"] == "text/markdown; charset=utf-8"
    text = result.text
    assert text.startswith("# Maintenance KPI report")
    for line in ("| MTTR | 2.25 h |", "| MTBF | 190.33 h |", "| PM compliance | 25.00% |", "| Backlog | 20.00 h |"):
        assert line in text, line
    assert '| Press \\<b\\> & "Co" | 3.00 h | 2 |' in text


async def test_json_report_matches_the_api(site: Site, rt: Runtime) -> None:
    params = {**PERIOD, "plant_id": site.plant["id"]}
    _, result = await report(rt, site, {"format": "json", **params})
    assert result.status == 200, result
    assert result.headers["Content-Type"] == "application/json"
    data = orjson.loads(result.text)
    assert data["report"] == "maintenance-kpis"
    assert data["plant"] == {"id": site.plant["id"], "name": site.plant["name"]}
    live = await site.kpis(**params)
    for key in ("mttr", "mtbf", "pm_compliance", "planned_percentage", "backlog", "orders", "top_assets_by_downtime"):
        assert data[key] == live[key], key


async def test_report_defaults(rt: Runtime, site: Site) -> None:
    job, result = await report(rt, site, {})
    assert result.status == 200 and "<svg" in result.text
    assert job["result"]["format"] == "html"
    assert job["result"]["plant_id"] is None
    to = datetime.fromisoformat(job["result"]["to"])
    assert datetime.fromisoformat(job["result"]["from"]) == to - timedelta(days=30)


async def test_report_params_are_checked_at_enqueue(site: Site) -> None:
    manager = site.tenant["manager"]
    for params in ({"format": "pdf"}, {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, {"x": 1}):
        reply = await manager.post("/api/v1/jobs", {"kind": "reports", "params": params})
        assert_problem(reply, 422)
    assert_problem(await site.tenant["requester"].post("/api/v1/jobs", {"kind": "reports", "params": {}}), 403)


async def test_cancelled_report_leaves_no_file(rt: Runtime, site: Site) -> None:
    tenant = site.tenant
    manager_id = tenant.users["manager"]["id"]
    async with transaction(rt.deps.pool, tenant.id) as cur:  # not handed to the shared queue: run only here
        job = await jobs_repo.insert(cur, tenant.id, "reports", {"format": "html"}, manager_id, 3)
    job_id = job["id"]
    seen: dict[str, Any] = {}

    async def cancel_while_writing(data: dict[str, Any], user_id: int | None) -> None:
        if data.get("message") == "writing the report":
            await jobs_service.cancel(rt.deps, Actor(tenant.id, manager_id, Role.MANAGER), job_id)

    async def watched(ctx: JobContext, params: Any) -> JobResult:
        try:
            return await reports.run(ctx, params)
        except JobCancelled:
            seen["written"] = [t for t in ctx._temps if t.exists()]
            raise

    await worker(rt, cancel_while_writing, {JobKind.REPORTS: watched}).run(job_id, tenant.id)
    job = ok(await tenant["manager"].get(f"/api/v1/jobs/{job_id}"))
    assert job["status"] == "cancelled", job
    assert len(seen["written"]) == 1  # the report was on disk, under its temporary name, when the cancel came
    folder = rt.data_dir / "results" / str(tenant.id)
    assert sorted(folder.glob(f"*job-{job_id}*")) == []
    assert_problem(await tenant["manager"].get(f"/api/v1/jobs/{job_id}/result"), 409)
