"""PM recalculation, one plan per transaction: roll the plan forward when its order was done (or
cancelled), make the next order once it is within the lead time, and raise `pm_overdue` once per
plan and due date. The rules themselves are in `cmms.domain.schedule`.

The plan row is locked (FOR UPDATE) for the whole decision, so two runs at once serialise on it
and the second finds the order the first made: a plan never has two open orders from here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import assets as asset_repo
from cmms.db.repos import maintenance as repo
from cmms.db.repos import plans as plan_repo
from cmms.db.repos import procedures as procedure_repo
from cmms.domain import events as ev
from cmms.domain import schedule, workflow
from cmms.domain.model_types import OrderType, Severity
from cmms.domain.roles import Actor
from cmms.services import alerts, checklists, orders, readings
from cmms.services.common import changed_fields, record
from cmms.services.deps import Deps

OVERDUE = "pm_overdue"


@dataclass(frozen=True)
class PlanOutcome:
    order_id: int | None = None  # the PM order made in this run
    rolled: bool = False  # moved on after a completed order
    skipped: bool = False  # moved on after a cancelled order
    overdue_alert: bool = False


async def active_plan_ids(deps: Deps, actor: Actor) -> list[int]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.active_plan_ids(cur, actor.tenant_id)


async def process_plan(deps: Deps, actor: Actor, plan_id: int, now: datetime) -> PlanOutcome:
    outcome = await _decide(deps, actor, plan_id, now)
    # Most runs change nothing: only what did change drops its cached lists.
    touched = [
        kind
        for kind, hit in (
            ("plans", outcome.rolled or outcome.skipped),
            ("orders", outcome.order_id is not None),
            ("alerts", outcome.overdue_alert),
        )
        if hit
    ]
    if touched:
        await deps.cache.invalidate(actor.tenant_id, *touched)
    return outcome


async def _decide(deps: Deps, actor: Actor, plan_id: int, now: datetime) -> PlanOutcome:
    tenant = actor.tenant_id
    async with transaction(deps.pool, tenant) as cur:
        plan = await plan_repo.get(cur, tenant, plan_id, lock=True)
        asset = await asset_repo.find(cur, tenant, plan["asset_id"])
        if not plan["active"] or asset is None or asset["status"] == "retired":
            return PlanOutcome()
        rolled = skipped = False
        created: int | None = None
        order = await repo.open_order(cur, tenant, plan_id)
        if order is None:  # the previous occurrence is over (or there was none): move on, maybe order
            plan, rolled, skipped = await _move_on(cur, actor, plan, now)
            due_at = await _order_due(cur, tenant, plan, now)
            if due_at is not None:
                order = await create_pm_order(cur, actor, plan, asset, due_at)
                created = int(order["id"])
        alerted = order is not None and await _overdue_alert(cur, actor, plan, asset, order, now)
        return PlanOutcome(order_id=created, rolled=rolled, skipped=skipped, overdue_alert=alerted)


async def _move_on(cur: Cursor, actor: Actor, plan: dict[str, Any], now: datetime) -> tuple[dict[str, Any], bool, bool]:
    """Roll the plan forward after a completed order, or past a cancelled one: (plan, rolled, skipped)."""
    tenant = actor.tenant_id
    done = await repo.completed_since(cur, tenant, plan["id"], plan["last_done_at"])
    if done is not None:
        changes = await _after_completion(cur, tenant, plan, done["completed_at"])
        return await _save(cur, actor, plan, changes, "roll", done), True, False
    newest = await repo.newest_order(cur, tenant, plan["id"])
    # A cancelled order made after the plan last changed was this occurrence's: skip it. An
    # older one was cancelled before the plan moved (or was edited), so it says nothing now.
    cancelled = newest is not None and newest["status"] == workflow.Status.CANCELLED
    if cancelled and newest is not None and newest["created_at"] >= plan["updated_at"]:
        changes = await _after_cancellation(cur, tenant, plan, now)
        return await _save(cur, actor, plan, changes, "skip", newest), False, True
    return plan, False, False


async def _after_completion(cur: Cursor, tenant: int, plan: dict[str, Any], done_at: datetime) -> dict[str, Any]:
    if plan["trigger"] == "meter":
        reading = await repo.latest_reading(cur, tenant, plan["asset_id"], plan["meter"], until=done_at)
        if reading is None:
            reading = await repo.latest_reading(cur, tenant, plan["asset_id"], plan["meter"])
        base = float(reading["value"]) if reading else float(plan["next_due_meter"] or 0.0)
        return {
            "last_done_at": done_at,
            "last_done_meter": base if reading else None,
            "next_due_meter": schedule.next_meter_due(base, float(plan["meter_interval"])),
        }
    return {
        "last_done_at": done_at,
        "next_due_at": schedule.next_calendar_due(
            plan["schedule"], plan["next_due_at"], plan["interval_days"], done_at
        ),
    }


async def _after_cancellation(cur: Cursor, tenant: int, plan: dict[str, Any], now: datetime) -> dict[str, Any]:
    if plan["trigger"] == "meter":
        reading = await repo.latest_reading(cur, tenant, plan["asset_id"], plan["meter"])
        base = float(reading["value"]) if reading else float(plan["next_due_meter"] or 0.0)
        return {"next_due_meter": schedule.next_meter_due(base, float(plan["meter_interval"]))}
    return {"next_due_at": schedule.skip_calendar_due(plan["next_due_at"], plan["interval_days"], now)}


async def _save(
    cur: Cursor, actor: Actor, plan: dict[str, Any], changes: dict[str, Any], action: str, order: dict[str, Any]
) -> dict[str, Any]:
    # The changes always differ (the due date or value moves on), so updated_at marks this step.
    row = await crud.update(cur, plan_repo.TABLE, plan, changes, None)
    diff = changed_fields(plan, row, changes)
    audit = {**diff, "order_id": order["id"]}
    await record(
        cur,
        actor,
        action=action,
        entity="plan",
        entity_id=plan["id"],
        changes=audit,
        event=ev.Event(ev.PLAN_UPDATED, {**row, "changed": sorted(diff)}, ev.STAFF_ROOMS),
    )
    return row


async def _order_due(cur: Cursor, tenant: int, plan: dict[str, Any], now: datetime) -> datetime | None:
    """When the plan's next order is due, if it should exist by now; None when it is not time yet."""
    if plan["trigger"] == "meter":
        reading = await repo.latest_reading(cur, tenant, plan["asset_id"], plan["meter"])
        if reading is None or not schedule.meter_due(float(reading["value"]), plan["next_due_meter"]):
            return None
        return schedule.meter_order_due(reading["at"], plan["lead_days"])
    due: datetime | None = plan["next_due_at"]
    if due is None or not schedule.within_lead(due, plan["lead_days"], now):
        return None
    return due


async def create_pm_order(
    cur: Cursor, actor: Actor, plan: dict[str, Any], asset: dict[str, Any], due_at: datetime
) -> dict[str, Any]:
    """A preventive work order for a plan, with its audit row and `order:created` event."""
    values: dict[str, Any] = {
        "title": plan["title"],
        "description": plan["instructions"],
        "type": OrderType.PREVENTIVE,
        "priority": plan["priority"],
        "status": workflow.initial_status(actor),
        "asset_id": asset["id"],
        "plant_id": asset["plant_id"],
        "requested_by": None,  # made by the plan, whoever ran the recalculation
        "plan_id": plan["id"],
        "due_at": due_at,
    }
    order = await orders.insert_recorded(cur, actor, values)
    if plan.get("procedure_id") is not None:  # the plan's checklist comes with its order
        procedure = await procedure_repo.find(cur, actor.tenant_id, plan["procedure_id"])
        if procedure is not None:
            await checklists.attach_in(cur, actor, order, procedure)
    return order


def overdue_key(plan_id: int, due_at: datetime) -> str:
    """The start of a pm_overdue message: the same plan and due date are alerted once."""
    return f"PM plan {plan_id} due {due_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} is overdue"


async def _overdue_alert(
    cur: Cursor, actor: Actor, plan: dict[str, Any], asset: dict[str, Any], order: dict[str, Any], now: datetime
) -> bool:
    due_at: datetime | None = order["due_at"]
    if due_at is None or not schedule.is_overdue(due_at, now, completed=False):
        return False
    key = overdue_key(plan["id"], due_at)
    if await repo.alert_exists(cur, actor.tenant_id, asset["id"], OVERDUE, key):
        return False
    severity = Severity.CRITICAL if plan["priority"] == "critical" else Severity.WARNING
    message = f"{key}: {workflow.format_number(order['number'])} {plan['title']}"
    await alerts.trigger(cur, actor, asset=asset, kind=OVERDUE, severity=severity, message=message)
    return True


async def condition_alerts(deps: Deps, actor: Actor) -> int:
    """Condition alerts for readings past their meter's limits that recording them did not raise."""
    tenant = actor.tenant_id
    raised = 0
    async with transaction(deps.pool, tenant) as cur:
        await repo.lock_condition_checks(cur, tenant)
        by_asset: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in await repo.unalerted_breaches(cur, tenant):
            by_asset[int(row["asset_id"])].append(row)
        for asset_id, rows in by_asset.items():
            asset = await asset_repo.find(cur, tenant, asset_id)
            if asset is None:
                continue
            meters = {m["name"]: m for m in asset["meters"]}
            for message in readings.breaches(rows, meters):
                await alerts.trigger(
                    cur, actor, asset=asset, kind="condition", severity=Severity.WARNING, message=message
                )
                raised += 1
    if raised:
        await deps.cache.invalidate(tenant, "alerts")
    return raised
