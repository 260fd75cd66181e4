"""Preventive-maintenance plans: staff read them; supervisors write them.

A calendar plan is due every `interval_days`; a meter plan every `meter_interval` units of one of
its asset's meters. The next due date or meter value is computed when a plan is created and when
its trigger changes, unless the caller names it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor
from cmms.db.repos import assets, plans, readings
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, ValidationFailed
from cmms.domain.model import PlanIn, PlanPatch, check_plan_trigger
from cmms.domain.model_queries import PlanQuery
from cmms.domain.model_types import MAX_MAGNITUDE
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.services.common import (
    cached,
    cached_page,
    mutation,
    patch_values,
    query_key,
    record,
    record_update,
    require,
)
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]

REQUIRED = ("title", "instructions", "trigger", "schedule", "lead_days", "priority", "active")


async def list_plans(deps: Deps, actor: Actor, query: PlanQuery) -> Page:
    require(actor, STAFF, "see maintenance plans")
    return await cached_page(
        deps, actor, "plans", query_key(query), lambda cur: plans.list_page(cur, actor.tenant_id, query)
    )


async def get(deps: Deps, actor: Actor, plan_id: int) -> dict[str, Any]:
    require(actor, STAFF, "see maintenance plans")
    return await cached(deps, actor, "plans", f"id:{plan_id}", lambda cur: plans.get(cur, actor.tenant_id, plan_id))


async def create(deps: Deps, actor: Actor, data: PlanIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "create maintenance plans")
    values = data.model_dump()
    now = deps.clock()
    async with mutation(deps, actor, "plans") as cur:
        asset = await assets.find(cur, actor.tenant_id, data.asset_id)
        if asset is None:
            raise ValidationFailed(f"asset {data.asset_id} not found", field="asset_id")
        await _check_procedure(cur, actor.tenant_id, data.procedure_id)
        if data.trigger == "meter":
            assert data.meter is not None and data.meter_interval is not None  # PlanIn checked the trigger
            _check_meter(asset, data.meter)
            latest = await readings.latest_value(cur, actor.tenant_id, asset["id"], data.meter)
            values["next_due_meter"] = _next_meter(latest or 0.0, data.meter_interval)
        elif data.next_due_at is None:
            assert data.interval_days is not None
            values["next_due_at"] = _next_date(now, data.interval_days)
        row = await crud.insert(cur, plans.TABLE, {"tenant_id": actor.tenant_id, **values})
        await record(
            cur,
            actor,
            action="create",
            entity="plan",
            entity_id=row["id"],
            changes=data.model_dump(),
            event=ev.Event(ev.PLAN_CREATED, row, ev.STAFF_ROOMS),
        )
        return row


async def update(deps: Deps, actor: Actor, plan_id: int, data: PlanPatch, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "change maintenance plans")
    changes = patch_values(data)
    for name in REQUIRED:
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be cleared", field=name)
    now = deps.clock()
    async with mutation(deps, actor, "plans") as cur:
        current = await plans.get(cur, actor.tenant_id, plan_id, lock=True)
        crud.check_version(current, version)
        await _check_procedure(cur, actor.tenant_id, changes.get("procedure_id"))
        merged = {**current, **changes}
        try:
            check_plan_trigger(merged["trigger"], merged["interval_days"], merged["meter"], merged["meter_interval"])
        except ValueError as exc:
            raise ValidationFailed(str(exc), field=_missing_trigger_field(merged)) from None
        moved = {k for k in ("trigger", "interval_days", "meter", "meter_interval") if merged[k] != current[k]}
        if merged["trigger"] == "calendar":
            if "trigger" in moved:
                changes["next_due_meter"] = None
            if "next_due_at" not in changes and (moved & {"trigger", "interval_days"} or merged["next_due_at"] is None):
                changes["next_due_at"] = _next_date(current["last_done_at"] or now, merged["interval_days"])
        elif moved & {"trigger", "meter", "meter_interval"}:
            if "trigger" in moved and "next_due_at" not in changes:
                changes["next_due_at"] = None
            asset = await assets.get(cur, actor.tenant_id, current["asset_id"])
            _check_meter(asset, merged["meter"])
            base = await _meter_base(cur, actor.tenant_id, current, merged)
            changes["next_due_meter"] = _next_meter(base, float(merged["meter_interval"]))
        row = await crud.update(cur, plans.TABLE, current, changes, version)
        await record_update(
            cur,
            actor,
            entity="plan",
            before=current,
            after=row,
            fields=changes,
            event_type=ev.PLAN_UPDATED,
            audience=ev.STAFF_ROOMS,
        )
        return row


async def delete(deps: Deps, actor: Actor, plan_id: int, version: int | None) -> None:
    require(actor, SUPERVISORS, "delete maintenance plans")
    async with mutation(deps, actor, "plans") as cur:
        current = await plans.get(cur, actor.tenant_id, plan_id, lock=True)
        crud.check_version(current, version)
        if await plans.has_orders(cur, actor.tenant_id, plan_id):
            raise Conflict("the plan has generated work orders; deactivate it (active: false) instead")
        await crud.delete(cur, plans.TABLE, actor.tenant_id, plan_id)
        await record(
            cur,
            actor,
            action="delete",
            entity="plan",
            entity_id=plan_id,
            changes={"title": current["title"], "asset_id": current["asset_id"]},
            event=ev.Event(ev.PLAN_DELETED, {"id": plan_id, "asset_id": current["asset_id"]}, ev.STAFF_ROOMS),
        )


async def _check_procedure(cur: Cursor, tenant_id: int, procedure_id: int | None) -> None:
    """A plan's procedure is attached to every order it makes, so it must exist now."""
    if procedure_id is not None and not await plans.procedure_exists(cur, tenant_id, procedure_id):
        raise ValidationFailed(f"procedure {procedure_id} does not exist", field="procedure_id")


def _check_meter(asset: dict[str, Any], meter: str) -> None:
    names = {m["name"] for m in asset["meters"]}
    if meter not in names:
        declared = ", ".join(sorted(names)) or "none"
        raise ValidationFailed(f"asset {asset['id']} has no meter {meter!r} (declared: {declared})", field="meter")


def _next_date(base: datetime, interval_days: int) -> datetime:
    try:
        return base + timedelta(days=interval_days)
    except OverflowError:
        raise ValidationFailed("the next due date would fall after the year 9999", field="interval_days") from None


def _next_meter(base: float, interval: float) -> float:
    value = base + interval
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValidationFailed("the next due meter value is too large", field="meter_interval")
    return value


def _missing_trigger_field(plan: dict[str, Any]) -> str:
    if plan["trigger"] == "calendar":
        return "interval_days"
    return "meter" if plan["meter"] is None else "meter_interval"


async def _meter_base(cur: Cursor, tenant_id: int, current: dict[str, Any], merged: dict[str, Any]) -> float:
    """Where the next interval counts from: the last service on this meter, else its latest reading."""
    if current["trigger"] == "meter" and merged["meter"] == current["meter"] and current["last_done_meter"] is not None:
        return float(current["last_done_meter"])
    latest = await readings.latest_value(cur, tenant_id, current["asset_id"], merged["meter"])
    return latest or 0.0
