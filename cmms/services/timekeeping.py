"""Time on orders: a running timer per user, manual entries, deletion by the author or a supervisor.

Every timer operation first locks the user's row, so a user's starts and stops run one at a
time on any node: at most one timer runs per user, and starting one on another order stops the
first and records its entry in the same transaction. Each entry keeps the hourly rate its user
had when it was recorded, so changing a rate later does not rewrite past costs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import orders as order_repo
from cmms.db.repos import time_cost as repo
from cmms.domain import costing
from cmms.domain.costing import TimeEntryIn, TimerStartIn
from cmms.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import Actor, Role
from cmms.services import order_work
from cmms.services.common import mutation, record
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]


def present(entry: dict[str, Any]) -> dict[str, Any]:
    rate = Decimal(entry["hourly_rate"])
    out = {k: entry[k] for k in costing.TimeEntry.model_fields if k not in ("hourly_rate", "cost")}
    out["hourly_rate"] = costing.money(rate)
    out["cost"] = costing.money(costing.entry_cost(int(entry["minutes"]), rate))
    return out


def present_timer(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in costing.Timer.model_fields}


async def _worker(cur: Cursor, actor: Actor, user_id: int | None = None) -> dict[str, Any]:
    uid = actor.user_id if user_id is None else user_id
    if uid is None:
        raise Forbidden("time is recorded by users; an operator has none")
    user = await repo.lock_worker(cur, actor.tenant_id, uid)
    if user is None or not user["active"]:
        raise ValidationFailed(f"user {uid} does not exist", field="user_id")
    if user["role"] == Role.REQUESTER:
        raise ValidationFailed("requesters record no time", field="user_id")
    return user


async def my_timer(deps: Deps, actor: Actor) -> dict[str, Any]:
    if actor.user_id is None or actor.role == Role.REQUESTER:
        return {"timer": None}
    async with transaction(deps.pool, actor.tenant_id) as cur:
        row = await repo.timer(cur, actor.tenant_id, actor.user_id)
    return {"timer": None if row is None else present_timer(row)}


async def start(deps: Deps, actor: Actor, order_id: int, data: TimerStartIn) -> dict[str, Any]:
    now = deps.clock()
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id)
        order_work.check_open(order, order_work.FROZEN, "time")
        user = await _worker(cur, actor)
        running = await repo.timer(cur, actor.tenant_id, user["id"])
        if running is not None and running["order_id"] == order_id:
            return {"timer": present_timer(running), "stopped": None}  # already running here: nothing changes
        stopped = None if running is None else await _stop(cur, actor, user, running, now)
        timer = await repo.start_timer(
            cur,
            {
                "tenant_id": actor.tenant_id,
                "user_id": user["id"],
                "order_id": order_id,
                "category": data.category,
                "started_at": now,
            },
        )
        out = present_timer(timer)
        await record(
            cur,
            actor,
            action="timer_start",
            entity="order",
            entity_id=order_id,
            changes={"user_id": user["id"], "category": data.category},
            event=order_work.changed(order, "time", timer=out),
        )
        return {"timer": out, "stopped": stopped}


async def stop(deps: Deps, actor: Actor, order_id: int) -> dict[str, Any]:
    now = deps.clock()
    async with mutation(deps, actor) as cur:
        await order_work.readable(cur, actor, order_id)
        user = await _worker(cur, actor)
        running = await repo.timer(cur, actor.tenant_id, user["id"])
        if running is None or running["order_id"] != order_id:
            where = "" if running is None else f" (yours runs on order {running['order_id']})"
            raise Conflict(f"you have no timer running on order {order_id}{where}", field="timer")
        return await _stop(cur, actor, user, running, now)


async def _stop(
    cur: Cursor, actor: Actor, user: dict[str, Any], running: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """End a running timer: its entry at the user's current rate, audit and event on its order."""
    minutes, capped = costing.timer_minutes(running["started_at"], now)
    entry = await repo.insert_entry(
        cur,
        {
            "tenant_id": actor.tenant_id,
            "order_id": running["order_id"],
            "user_id": user["id"],
            "started_at": running["started_at"],
            "minutes": minutes,
            "category": running["category"],
            "note": "timer stopped after 24 h: check the time" if capped else "",
            "source": "timer",
            "hourly_rate": user["hourly_rate"] or costing.ZERO,
            "created_by": actor.user_id,
        },
    )
    await repo.drop_timer(cur, actor.tenant_id, user["id"])
    out = present(entry)
    order = await order_repo.get(cur, actor.tenant_id, running["order_id"])
    await record(
        cur,
        actor,
        action="timer_stop",
        entity="order",
        entity_id=order["id"],
        changes={"time_entry_id": entry["id"], "minutes": minutes, "user_id": user["id"]},
        event=order_work.changed(order, "time", entry=out),
    )
    return out


async def add(deps: Deps, actor: Actor, order_id: int, data: TimeEntryIn) -> dict[str, Any]:
    if data.user_id is not None and data.user_id != actor.user_id and not actor.is_supervisor:
        raise Forbidden("only supervisors record time for someone else", field="user_id")
    now = deps.clock()
    started_at = costing.manual_start(data.started_at, data.minutes, now)
    if started_at > now:
        raise ValidationFailed("time cannot be recorded ahead of when it happens", field="started_at")
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id)
        order_work.check_open(order, order_work.SETTLED, "time")
        user = await _worker(cur, actor, data.user_id)
        entry = await repo.insert_entry(
            cur,
            {
                "tenant_id": actor.tenant_id,
                "order_id": order_id,
                "user_id": user["id"],
                "started_at": started_at,
                "minutes": data.minutes,
                "category": data.category,
                "note": data.note,
                "source": "manual",
                "hourly_rate": user["hourly_rate"] or costing.ZERO,
                "created_by": actor.user_id,
            },
        )
        out = present(entry)
        await record(
            cur,
            actor,
            action="time_add",
            entity="order",
            entity_id=order_id,
            changes={"time_entry_id": entry["id"], "minutes": data.minutes, "user_id": user["id"]},
            event=order_work.changed(order, "time", entry=out),
        )
        return out


async def list_entries(deps: Deps, actor: Actor, order_id: int, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await order_work.readable(cur, actor, order_id)
        rows, cursor = await repo.page(cur, repo.ENTRIES, actor.tenant_id, order_id, query.limit, query.cursor)
    return [present(r) for r in rows], cursor


async def delete(deps: Deps, actor: Actor, order_id: int, entry_id: int, version: int | None) -> None:
    async with mutation(deps, actor) as cur:
        order = await order_work.readable(cur, actor, order_id)
        entry = await repo.line(cur, repo.ENTRIES, actor.tenant_id, order_id, entry_id)
        if entry is None:
            raise NotFound(f"work order {order_id} has no time entry {entry_id}", field="entry_id")
        if not actor.is_supervisor and actor.user_id not in (entry["user_id"], entry["created_by"]):
            raise Forbidden("only its author or a supervisor deletes a time entry")
        order_work.check_open(order, order_work.SETTLED, "time")
        crud.check_version(entry, version)
        await crud.delete(cur, repo.ENTRIES, actor.tenant_id, entry_id)
        await record(
            cur,
            actor,
            action="time_delete",
            entity="order",
            entity_id=order_id,
            changes={"time_entry_id": entry_id, "minutes": entry["minutes"], "user_id": entry["user_id"]},
            event=order_work.changed(order, "time", deleted_entry_id=entry_id),
        )
