"""The demo tenant's hands-on work: procedures, checklists in several states, time and costs.

Built through the same services as the API, by the people who would do it (the manager writes
procedures and sets rates, the assigned technician records the checklist and the time), so the
audit trail, events and KPIs of the demo look like a real week of work.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from cmms.domain.checklist import AttachIn, ItemRecordIn, ProcedureIn
from cmms.domain.costing import CostIn, TimeEntryIn, TimerStartIn
from cmms.domain.model import OrderIn, PlanPatch, TransitionIn, UserPatch
from cmms.domain.model_queries import OrderQuery, PlanQuery
from cmms.domain.roles import Actor
from cmms.domain.workflow import Status
from cmms.services import checklists, costs, orders, plans, procedures, timekeeping, users
from cmms.services.deps import Deps

RATES = {"tess": "42.00", "theo": "38.50"}

PUMP_INSPECTION: dict[str, Any] = {
    "name": "Centrifugal pump inspection",
    "description": "Quarterly condition check. Vibration limits: ISO 10816-3 group 2, zone B (4.5 mm/s RMS).",
    "items": [
        {"label": "Safety", "type": "heading"},
        {"label": "Isolate and lock out the pump", "type": "checkbox", "required": True},
        {"label": "Condition", "type": "heading"},
        {"label": "Mechanical seal: no leakage", "type": "pass_fail", "required": True},
        {"label": "Vibration, drive end", "type": "number", "unit": "mm/s", "min": 0, "max": 4.5, "required": True},
        {"label": "Vibration, non-drive end", "type": "number", "unit": "mm/s", "min": 0, "max": 4.5, "required": True},
        {"label": "Bearing temperature", "type": "number", "unit": "°C", "max": 80},
        {"label": "Coupling guard fitted", "type": "pass_fail", "required": True},
        {"label": "Findings", "type": "text"},
    ],
}
LUBRICATION_ROUND: dict[str, Any] = {
    "name": "Lubrication round",
    "description": "Grease bearings, check the oil level and read the hour meter.",
    "items": [
        {"label": "Running hours", "type": "meter", "meter": "hours", "unit": "h", "required": True},
        {"label": "Grease drive-end bearing (2 shots)", "type": "checkbox", "required": True},
        {"label": "Grease non-drive-end bearing (2 shots)", "type": "checkbox", "required": True},
        {"label": "Oil level in sight glass", "type": "choice", "options": ["low", "ok", "high"], "required": True},
        {"label": "Notes", "type": "text"},
    ],
}
COMPRESSOR_CHECK: dict[str, Any] = {
    "name": "Air compressor weekly check",
    "description": "Weekly walk-round of the screw compressor.",
    "items": [
        {"label": "Discharge pressure", "type": "number", "unit": "bar", "min": 6, "max": 8, "required": True},
        {"label": "Condensate drain", "type": "choice", "options": ["working", "blocked"], "required": True},
        {"label": "Air filter indicator green", "type": "pass_fail"},
    ],
}
# What each checklist state records, by item label (values as a technician would enter them).
PUMP_DONE = {
    "Isolate and lock out the pump": True,
    "Mechanical seal: no leakage": "pass",
    "Vibration, drive end": 2.8,
    "Vibration, non-drive end": 3.1,
    "Bearing temperature": 61,
    "Coupling guard fitted": "pass",
    "Findings": "All within limits; slight noise at start-up, recheck next quarter.",
}
PUMP_HALFWAY = {
    "Isolate and lock out the pump": True,
    "Mechanical seal: no leakage": "flag",
    "Vibration, drive end": 6.3,  # above 4.5 mm/s: a fail, and a follow-up order
}
LUBE_DONE = {
    "Running hours": 1840,
    "Grease drive-end bearing (2 shots)": True,
    "Grease non-drive-end bearing (2 shots)": True,
    "Oil level in sight glass": "ok",
}
COSTS = [
    ("contractor", "450.00", "Vibration analysis by SKF field service"),
    ("material", "186.40", "Mechanical seal kit"),
    ("other", "120.00", "Crane hire, half day"),
]


async def seed_work(
    deps: Deps,
    manager: Actor,
    technicians: dict[str, Actor],
    machines: list[dict[str, Any]],
    pumps: list[dict[str, Any]],
) -> None:
    """Procedures, rates, checklists (not started, halfway with a failure, done), time and costs."""
    rng = random.Random(11)
    by_id = {t.user_id: t for t in technicians.values()}
    for first, rate in RATES.items():
        await users.update(
            deps, manager, _user_id(technicians[first]), UserPatch.model_validate({"hourly_rate": rate}), None
        )
    pump_proc = await procedures.create(deps, manager, ProcedureIn.model_validate(PUMP_INSPECTION))
    lube_proc = await procedures.create(deps, manager, ProcedureIn.model_validate(LUBRICATION_ROUND))
    await procedures.create(deps, manager, ProcedureIn.model_validate(COMPRESSOR_CHECK))
    calendar_plans, _ = await plans.list_plans(deps, manager, PlanQuery(limit=200))
    for plan in calendar_plans:
        if plan["trigger"] == "calendar":  # every monthly inspection brings its lubrication round
            await plans.update(deps, manager, plan["id"], PlanPatch(procedure_id=lube_proc["id"]), None)

    tess, theo = technicians["tess"], technicians["theo"]
    # Done and completed: a pump inspection, and a lubrication round whose hour reading makes the
    # 500 h service of that machine due at the next PM run.
    done = await _order(deps, manager, tess, pumps[0], "Quarterly inspection of " + pumps[0]["name"])
    await _run(deps, manager, tess, done, pump_proc, PUMP_DONE)
    await _time(deps, tess, done["id"], [(75, "normal"), (20, "travel")], rng)
    await _finish(deps, tess, done["id"])
    lube = await _order(deps, manager, theo, machines[2], "Lubrication round " + machines[2]["name"])
    await _run(deps, manager, theo, lube, lube_proc, LUBE_DONE)
    await _time(deps, theo, lube["id"], [(40, "normal")], rng)
    await _finish(deps, theo, lube["id"])
    # Halfway, with a failed vibration reading (its follow-up order is opened by the server).
    halfway = await _order(deps, manager, tess, pumps[1], "Vibration check " + pumps[1]["name"])
    await _run(deps, manager, tess, halfway, pump_proc, PUMP_HALFWAY)
    await _time(deps, tess, halfway["id"], [(50, "normal")], rng)
    for category, amount, description in COSTS:
        data = CostIn.model_validate({"category": category, "amount": amount, "description": description})
        await costs.add(deps, manager, halfway["id"], data)
    # Not started: attached, nothing recorded yet.
    waiting = await _order(deps, manager, theo, pumps[2], "Inspect " + pumps[2]["name"], start=False)
    await checklists.attach(deps, manager, waiting["id"], AttachIn(procedure_id=pump_proc["id"]))

    # Time on the orders already in progress, on hold or completed, by their technicians.
    worked, _ = await orders.list_orders(
        deps, manager, OrderQuery(status=[Status.IN_PROGRESS, Status.ON_HOLD, Status.COMPLETED], limit=200)
    )
    for row in worked:
        tech = by_id.get(row["assignee_id"])
        if tech is not None and row["id"] not in (done["id"], lube["id"], halfway["id"]):
            spans = [(rng.choice([30, 45, 60, 90, 120, 150]), rng.choice(["normal", "normal", "overtime"]))]
            await _time(deps, tech, row["id"], spans, rng)
    # Tess is on the halfway pump now: her timer runs there.
    await timekeeping.start(deps, tess, halfway["id"], TimerStartIn())


def _user_id(actor: Actor) -> int:
    assert actor.user_id is not None
    return actor.user_id


async def _order(
    deps: Deps, manager: Actor, tech: Actor, asset: dict[str, Any], title: str, *, start: bool = True
) -> dict[str, Any]:
    data = OrderIn.model_validate(
        {"title": title, "type": "inspection", "asset_id": asset["id"], "assignee_id": tech.user_id}
    )
    order = await orders.create(deps, manager, data)
    if start:
        order = await orders.transition(deps, tech, order["id"], TransitionIn(to=Status.IN_PROGRESS), None)
    return order


async def _run(
    deps: Deps, manager: Actor, tech: Actor, order: dict[str, Any], procedure: dict[str, Any], values: dict[str, Any]
) -> None:
    checklist = await checklists.attach(deps, manager, order["id"], AttachIn(procedure_id=procedure["id"]))
    for item in checklist["items"]:
        if item["label"] in values:
            data = ItemRecordIn(value=values[item["label"]])
            await checklists.record_item(deps, tech, order["id"], item["id"], data, None)


async def _time(deps: Deps, tech: Actor, order_id: int, spans: list[tuple[int, str]], rng: random.Random) -> None:
    """Entries that ended some hours ago, within the last week, so the KPIs of the period show them."""
    now = deps.clock()
    for minutes, category in spans:
        start = now - timedelta(hours=rng.randint(4, 24 * 6), minutes=minutes)
        data = TimeEntryIn.model_validate({"minutes": minutes, "category": category, "started_at": start})
        await timekeeping.add(deps, tech, order_id, data)


async def _finish(deps: Deps, tech: Actor, order_id: int) -> None:
    await orders.transition(deps, tech, order_id, TransitionIn(to=Status.COMPLETED), None)
