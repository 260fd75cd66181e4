"""PM recalculation on the real PostgreSQL: fixed and floating calendars, one open order per plan
even when two runs overlap, meter intervals, overdue alerts once per due date, condition alerts
that recording readings did not raise.

Time is the Deps clock: each run and each status change happens at a chosen instant.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cmms.domain.jobs import JobIn, JobKind
from cmms.domain.model import AssetIn, AssetPatch, Meter, PlanIn, PlantIn, ReadingIn, ReadingsIn, TransitionIn
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import assets, orders, plans, plants, readings
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps
from tests.integration.support import Tenant, make_tenant, unique

D = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)  # the first due date of the calendar plans
DAY = timedelta(days=1)


async def _no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


def at(rt: Runtime, when: datetime) -> Deps:
    return dataclasses.replace(rt.deps, clock=lambda: when)


async def run_maintenance(rt: Runtime, tenant: Tenant, when: datetime, **params: Any) -> dict[str, Any]:
    """Enqueue a maintenance job and run it here, at `when`; returns its summary."""
    deps = at(rt, when)
    job = await jobs_service.create(deps, tenant.operator, JobIn(kind=JobKind.MAINTENANCE, params=params))
    await Worker(deps, rt.data_dir, _no_emit, DelayedJobs(rt.deps.redis, rt.job_system.queue)).run(job["id"], tenant.id)
    [row] = await tenant.sql("SELECT status, error, result FROM jobs WHERE id = %s", (job["id"],))
    assert row["status"] == "completed", row
    return dict(row["result"])


@pytest.fixture
async def site(rt: Runtime, client: TestClient) -> Tenant:
    """A fresh tenant per test (a run covers every plan of the tenant) with one plant and asset."""
    tenant = await make_tenant(rt, client, {})
    plant = await plants.create(rt.deps, tenant.operator, PlantIn(name=unique("plant")))
    meters = [Meter(name="hours", unit="h"), Meter(name="temp", max=90)]
    asset = await assets.create(rt.deps, tenant.operator, AssetIn(name="Press", plant_id=plant["id"], meters=meters))
    tenant.things.update(plant=plant, asset=asset)
    return tenant


async def new_plan(rt: Runtime, site: Tenant, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"asset_id": site.things["asset"]["id"], "title": unique("plan"), "interval_days": 30}
    values.update(fields)
    return await plans.create(rt.deps, site.operator, PlanIn(**values))


async def plan_orders(site: Tenant, plan_id: int) -> list[dict[str, Any]]:
    return await site.sql("SELECT * FROM work_orders WHERE plan_id = %s ORDER BY id", (plan_id,))


async def plan_row(site: Tenant, plan_id: int) -> dict[str, Any]:
    [row] = await site.sql("SELECT * FROM plans WHERE id = %s", (plan_id,))
    return row


async def move(rt: Runtime, site: Tenant, order_id: int, when: datetime, *steps: str) -> None:
    for step in steps:
        await orders.transition(at(rt, when), site.operator, order_id, TransitionIn(to=step), None)


async def complete(rt: Runtime, site: Tenant, order_id: int, when: datetime) -> None:
    await move(rt, site, order_id, when, "in_progress", "completed")


# ---- calendar plans ------------------------------------------------------------------------------


async def test_the_order_is_made_once_within_the_lead_time(rt: Runtime, site: Tenant) -> None:
    plan = await new_plan(rt, site, next_due_at=D, lead_days=7, priority="high")
    assert (await run_maintenance(rt, site, D - 8 * DAY))["orders_created"] == 0
    assert await plan_orders(site, plan["id"]) == []

    summary = await run_maintenance(rt, site, D - 6 * DAY)
    assert (summary["plans"], summary["orders_created"]) == (1, 1)
    [order] = await plan_orders(site, plan["id"])
    assert order["type"] == "preventive"
    assert order["status"] == "open"
    assert order["due_at"] == D
    assert order["priority"] == "high"
    assert order["title"] == plan["title"]
    assert order["asset_id"] == plan["asset_id"]
    assert order["plant_id"] == site.things["plant"]["id"]
    # Made like any order: audited, and announced through the outbox.
    audit = await site.sql(
        "SELECT action FROM audit_log WHERE entity = 'order' AND entity_id = %s ORDER BY id", (order["id"],)
    )
    assert [a["action"] for a in audit] == ["create"]
    events = await site.sql(
        "SELECT data FROM outbox WHERE type = 'order:created' AND (data->>'id')::bigint = %s", (order["id"],)
    )
    assert len(events) == 1 and events[0]["data"]["plan_id"] == plan["id"]

    assert (await run_maintenance(rt, site, D - 5 * DAY))["orders_created"] == 0
    assert (await run_maintenance(rt, site, D + 5 * DAY))["orders_created"] == 0
    assert len(await plan_orders(site, plan["id"])) == 1


@pytest.mark.parametrize(
    ("schedule", "next_due"),
    [
        ("fixed", D + 60 * DAY),  # done 40 days late: Mar 31 passed too, so the grid's Apr 30
        ("floating", D + 40 * DAY + 30 * DAY),  # 30 days from the completion
    ],
)
async def test_a_completed_order_rolls_the_plan_forward(
    rt: Runtime, site: Tenant, schedule: str, next_due: datetime
) -> None:
    plan = await new_plan(rt, site, next_due_at=D, interval_days=30, lead_days=7, schedule=schedule)
    await run_maintenance(rt, site, D - DAY)
    [order] = await plan_orders(site, plan["id"])
    done = D + 40 * DAY
    await complete(rt, site, order["id"], done)

    summary = await run_maintenance(rt, site, done + timedelta(hours=1))
    assert (summary["plans_rolled"], summary["orders_created"]) == (1, 0)
    row = await plan_row(site, plan["id"])
    assert row["next_due_at"] == next_due
    assert row["last_done_at"] == done
    history = await site.sql(
        "SELECT action, changes FROM audit_log WHERE entity = 'plan' AND entity_id = %s ORDER BY id", (plan["id"],)
    )
    assert [h["action"] for h in history] == ["create", "roll"]
    assert history[1]["changes"]["order_id"] == order["id"]

    assert (await run_maintenance(rt, site, done + 2 * DAY))["plans_rolled"] == 0  # rolled once
    summary = await run_maintenance(rt, site, next_due - 6 * DAY)
    assert summary["orders_created"] == 1
    assert [o["due_at"] for o in await plan_orders(site, plan["id"])] == [D, next_due]


async def test_a_fixed_plan_done_early_keeps_its_grid(rt: Runtime, site: Tenant) -> None:
    plan = await new_plan(rt, site, next_due_at=D, interval_days=30, lead_days=10)
    await run_maintenance(rt, site, D - 9 * DAY)
    [order] = await plan_orders(site, plan["id"])
    await complete(rt, site, order["id"], D - 8 * DAY)
    await run_maintenance(rt, site, D - 8 * DAY + timedelta(hours=1))
    assert (await plan_row(site, plan["id"]))["next_due_at"] == D + 30 * DAY


async def test_cancelling_the_order_skips_its_occurrence(rt: Runtime, site: Tenant) -> None:
    plan = await new_plan(rt, site, next_due_at=D, interval_days=30, lead_days=7)
    await run_maintenance(rt, site, D - 6 * DAY)
    [order] = await plan_orders(site, plan["id"])
    await move(rt, site, order["id"], D - 5 * DAY, "cancelled")

    summary = await run_maintenance(rt, site, D - 4 * DAY)
    assert (summary["occurrences_skipped"], summary["orders_created"]) == (1, 0)
    row = await plan_row(site, plan["id"])
    assert (row["next_due_at"], row["last_done_at"]) == (D + 30 * DAY, None)
    assert (await run_maintenance(rt, site, D - 3 * DAY))["occurrences_skipped"] == 0
    assert (await run_maintenance(rt, site, D + 24 * DAY))["orders_created"] == 1  # the next occurrence


async def test_two_runs_at_once_make_one_open_order_per_plan(rt: Runtime, site: Tenant) -> None:
    made = [await new_plan(rt, site, next_due_at=D + i * DAY, lead_days=30) for i in range(8)]
    summaries = await asyncio.gather(*(run_maintenance(rt, site, D) for _ in range(3)))
    assert sum(s["orders_created"] for s in summaries) == len(made)
    for plan in made:
        assert len(await plan_orders(site, plan["id"])) == 1
    assert (await run_maintenance(rt, site, D + DAY))["orders_created"] == 0


async def test_inactive_plans_are_left_alone(rt: Runtime, site: Tenant) -> None:
    plan = await new_plan(rt, site, next_due_at=D, active=False)
    summary = await run_maintenance(rt, site, D + DAY)
    assert (summary["plans"], summary["orders_created"], summary["alerts_raised"]) == (0, 0, 0)
    assert await plan_orders(site, plan["id"]) == []


# ---- overdue ---------------------------------------------------------------------------------------


async def test_an_overdue_order_raises_one_alert_per_due_date(rt: Runtime, site: Tenant) -> None:
    plan = await new_plan(rt, site, next_due_at=D, lead_days=7, interval_days=30)
    await run_maintenance(rt, site, D - DAY)
    assert (await run_maintenance(rt, site, D))["overdue_alerts"] == 0  # due now is not late yet
    [order] = await plan_orders(site, plan["id"])

    assert (await run_maintenance(rt, site, D + timedelta(minutes=15)))["overdue_alerts"] == 1
    for minutes in (30, 45, 60 * 24):
        assert (await run_maintenance(rt, site, D + timedelta(minutes=minutes)))["overdue_alerts"] == 0
    [alert] = await site.sql("SELECT * FROM alerts WHERE kind = 'pm_overdue'")
    assert alert["asset_id"] == plan["asset_id"]
    assert alert["status"] == "open"
    assert alert["message"].startswith(f"PM plan {plan['id']} due 2030-03-01T08:00:00Z is overdue")
    assert "WO-" in alert["message"]
    events = await site.sql("SELECT data FROM outbox WHERE type = 'alert:triggered'")
    assert [e["data"]["id"] for e in events] == [alert["id"]]

    # Done late: the plan moves on, and the next occurrence gets its own alert when it is late.
    await complete(rt, site, order["id"], D + 2 * DAY)
    await run_maintenance(rt, site, D + 2 * DAY + timedelta(hours=1))
    assert (await run_maintenance(rt, site, D + 30 * DAY + timedelta(hours=1)))["overdue_alerts"] == 1
    assert len(await site.sql("SELECT id FROM alerts WHERE kind = 'pm_overdue'")) == 2


# ---- meter plans -----------------------------------------------------------------------------------


async def reading(rt: Runtime, site: Tenant, meter: str, value: float, when: datetime | None = None) -> None:
    data = ReadingsIn(readings=[ReadingIn(meter=meter, value=value, at=when)])
    await readings.add(rt.deps, site.operator, site.things["asset"]["id"], data)


async def test_a_meter_plan_is_due_at_its_interval_and_counts_on_from_the_completion(rt: Runtime, site: Tenant) -> None:
    t0 = D - 30 * DAY
    await reading(rt, site, "hours", 1200, t0)
    plan = await new_plan(rt, site, trigger="meter", meter="hours", meter_interval=500, interval_days=None, lead_days=3)
    assert plan["next_due_meter"] == 1700

    await reading(rt, site, "hours", 1650, t0 + DAY)
    assert (await run_maintenance(rt, site, t0 + DAY))["orders_created"] == 0
    await reading(rt, site, "hours", 1712, t0 + 2 * DAY)
    assert (await run_maintenance(rt, site, t0 + 2 * DAY))["orders_created"] == 1
    [order] = await plan_orders(site, plan["id"])
    assert order["type"] == "preventive"
    assert order["due_at"] == t0 + 2 * DAY + 3 * DAY  # lead_days after the reading that made it due
    assert (await run_maintenance(rt, site, t0 + 2 * DAY))["orders_created"] == 0

    done = t0 + 3 * DAY
    await complete(rt, site, order["id"], done)
    await reading(rt, site, "hours", 1790, done + DAY)  # taken after the work: not the base
    summary = await run_maintenance(rt, site, done + DAY)
    assert (summary["plans_rolled"], summary["orders_created"]) == (1, 0)
    row = await plan_row(site, plan["id"])
    assert (row["last_done_meter"], row["next_due_meter"], row["last_done_at"]) == (1712, 2212, done)

    await reading(rt, site, "hours", 2212, done + 5 * DAY)
    assert (await run_maintenance(rt, site, done + 5 * DAY))["orders_created"] == 1
    assert len(await plan_orders(site, plan["id"])) == 2


# ---- condition alerts ------------------------------------------------------------------------------


async def test_condition_alerts_only_for_breaches_recording_did_not_raise(rt: Runtime, site: Tenant) -> None:
    asset = site.things["asset"]
    await reading(rt, site, "temp", 95)  # past the maximum of 90: recording raises the alert
    await reading(rt, site, "temp", 85)  # within 90
    assert len(await site.sql("SELECT id FROM alerts WHERE kind = 'condition'")) == 1

    now = datetime.now(UTC)
    assert (await run_maintenance(rt, site, now))["condition_alerts"] == 0  # nothing left to raise

    # The limit is tightened: the 85 that was fine now breaches it, and nothing said so yet.
    meters = [Meter(name="hours", unit="h"), Meter(name="temp", max=80)]
    await assets.update(rt.deps, site.operator, asset["id"], AssetPatch(meters=meters), None)
    assert (await run_maintenance(rt, site, now))["condition_alerts"] == 1
    messages = [a["message"] for a in await site.sql("SELECT message FROM alerts WHERE kind = 'condition' ORDER BY id")]
    assert messages == [
        "meter temp reading 95 is above the maximum 90",
        "meter temp reading 85 is above the maximum 80",
    ]
    assert (await run_maintenance(rt, site, now))["condition_alerts"] == 0
    assert len(await site.sql("SELECT id FROM alerts WHERE kind = 'condition'")) == 2
