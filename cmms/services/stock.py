"""Stock moves: the one path every change of stock takes (API moves, order lines, receipts).

Locks, always in this order so that no two moves wait on each other in a cycle: the part row
(FOR NO KEY UPDATE: its average cost and the stock total it is computed over), then the level
rows of the locations involved in ascending id order, then the tenant's event counter when the
outbox rows are written. A transaction that changes several levels (a transfer, a receipt of
many lines, a cancelled order's reservations) therefore collects its events and low-stock alerts
in a `Pending` and publishes them with `flush` only once every row it changes is locked: holding
the tenant's counter while waiting for a level would deadlock with a move that holds that level.
Everything — move rows, levels, average, audit, events, alerts — commits together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cmms.db.pool import Cursor, transaction
from cmms.db.repos import events as event_repo
from cmms.db.repos import orders as order_repo
from cmms.db.repos import parts as part_repo
from cmms.db.repos import stock as repo
from cmms.domain import events as ev
from cmms.domain import stock as rules
from cmms.domain.errors import Conflict, NotFound, ValidationFailed
from cmms.domain.inventory import MoveIn, MoveQuery
from cmms.domain.model_types import Severity
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.domain.stock import Level, MoveKind, qty_text
from cmms.services import alerts
from cmms.services.common import mutation, record, require
from cmms.services.deps import Deps

STOCK_CHANGED = ev.STOCK_CHANGED
Page = tuple[list[dict[str, Any]], str | None]
# Technicians take parts out and bring them back; receipts, counts and transfers are the stores'.
HANDS_ON = frozenset({MoveKind.ISSUE, MoveKind.RETURN})


@dataclass(frozen=True)
class Spec:
    """A move as the services build it (the API's MoveIn, an order line, a receipt line)."""

    part_id: int
    location_id: int
    kind: MoveKind
    qty: Decimal
    unit_cost: Decimal | None = None
    to_location_id: int | None = None
    order_id: int | None = None
    order_part_id: int | None = None
    purchase_order_id: int | None = None
    note: str = ""
    unreserve: Decimal = rules.ZERO  # an order line's issue consumes its own reservation


@dataclass
class Pending:
    """What a stock transaction announces once all its locks are taken (see the module doc)."""

    levels: list[dict[str, Any]] = field(default_factory=list)  # stock:changed data
    alerts: list[tuple[dict[str, Any], int, Level]] = field(default_factory=list)  # (part, location, level)


async def flush(cur: Cursor, actor: Actor, pending: Pending) -> None:
    for part, location_id, level in pending.alerts:
        await _low_stock_alert(cur, actor, part, location_id, level)
    for data in pending.levels:
        await event_repo.publish(cur, actor.tenant_id, ev.Event(STOCK_CHANGED, data, ev.STAFF_ROOMS))
    pending.alerts.clear()
    pending.levels.clear()


def present_move(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "part_id", "location_id", "kind", "to_location_id", "order_id")}
    out.update({k: row[k] for k in ("order_part_id", "purchase_order_id", "note", "created_by", "created_at")})
    out["qty"] = qty_text(row["qty"])
    out["unit_cost"] = rules.cost_text(row["unit_cost"])
    return out


def present_level(row: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    level = Level(row["on_hand"], row["reserved"])
    return {
        "location_id": row["location_id"],
        "on_hand": qty_text(level.on_hand),
        "reserved": qty_text(level.reserved),
        "available": qty_text(level.available),
        "low": row["low"],
        "reorder_qty": qty_text(part["reorder_qty"]) if row["low"] else None,
    }


async def known(cur: Cursor, table: str, tenant_id: int, id_: int, field: str, *, lock: str = "") -> dict[str, Any]:
    """A referenced part, location or vendor of this tenant, or 422 naming the field."""
    row = await part_repo.find(cur, table, tenant_id, id_, lock=lock)
    if row is None:
        raise ValidationFailed(f"{table.rstrip('s').replace('_', ' ')} {id_} not found", field=field)
    return row


async def change_level(
    cur: Cursor,
    actor: Actor,
    part: dict[str, Any],
    location_id: int,
    on_hand: Decimal = rules.ZERO,
    reserved: Decimal = rules.ZERO,
    *,
    pending: Pending,
    field: str = "qty",
) -> dict[str, Any]:
    """Lock, check and write one level; a crossing below the minimum queues its alert. The event data."""
    row = await repo.lock_level(cur, actor.tenant_id, part["id"], location_id, create=on_hand > 0)
    if row is None:
        raise Conflict(f"part {part['number']} has no stock at location {location_id}", field="location_id")
    after = rules.apply(Level(row["on_hand"], row["reserved"]), on_hand, reserved, field=field)
    low, alert = rules.low_stock(row["low"], after.available, part["min_qty"])
    written = await repo.write_level(cur, actor.tenant_id, part["id"], location_id, after.on_hand, after.reserved, low)
    if alert:
        pending.alerts.append((part, location_id, after))
    return {"part_id": part["id"], **present_level(written, part)}


async def _low_stock_alert(cur: Cursor, actor: Actor, part: dict[str, Any], location_id: int, level: Level) -> None:
    location = await part_repo.find(cur, part_repo.LOCATIONS, actor.tenant_id, location_id)
    where = location["name"] if location else f"location {location_id}"
    unit = part["unit"]
    message = (
        f"Low stock of {part['number']} {part['name']} at {where}: {qty_text(level.available)} {unit} available,"
        f" minimum {qty_text(part['min_qty'])} {unit}; reorder {qty_text(part['reorder_qty'])} {unit}"
    )
    await alerts.trigger(cur, actor, asset=None, kind="low_stock", severity=Severity.WARNING, message=message)


async def post(cur: Cursor, actor: Actor, spec: Spec, pending: Pending) -> dict[str, Any]:
    """Append one move inside the caller's transaction and bring the levels along (announced by `flush`)."""
    rules.check_move(spec.kind, spec.qty, spec.location_id, spec.to_location_id)
    part = await known(cur, part_repo.PARTS, actor.tenant_id, spec.part_id, "part_id", lock="FOR NO KEY UPDATE")
    await known(cur, part_repo.LOCATIONS, actor.tenant_id, spec.location_id, "location_id")
    if spec.to_location_id is not None:
        await known(cur, part_repo.LOCATIONS, actor.tenant_id, spec.to_location_id, "to_location_id")
    if spec.order_id is not None:
        if spec.kind not in HANDS_ON:
            raise ValidationFailed("only issues and returns belong to a work order", field="order_id")
        try:
            await order_repo.get(cur, actor.tenant_id, spec.order_id)
        except NotFound:
            raise ValidationFailed(f"work order {spec.order_id} not found", field="order_id") from None
    unit_cost = _unit_cost(spec, part["average_cost"])
    if rules.raises_average(spec.kind):
        total = await repo.part_on_hand(cur, actor.tenant_id, part["id"])
        average = rules.moving_average(total, part["average_cost"], spec.qty, unit_cost)
        await repo.set_average(cur, actor.tenant_id, part["id"], average)
    changed = []
    for location_id, delta in sorted(rules.effects(spec.kind, spec.qty, spec.location_id, spec.to_location_id).items()):
        unreserve = -spec.unreserve if location_id == spec.location_id else rules.ZERO
        changed.append(await change_level(cur, actor, part, location_id, delta, unreserve, pending=pending))
    row = await repo.insert_move(
        cur,
        {
            "tenant_id": actor.tenant_id,
            "part_id": part["id"],
            "location_id": spec.location_id,
            "kind": spec.kind,
            "qty": spec.qty,
            "unit_cost": unit_cost,
            "to_location_id": spec.to_location_id,
            "order_id": spec.order_id,
            "order_part_id": spec.order_part_id,
            "purchase_order_id": spec.purchase_order_id,
            "note": spec.note,
            "created_by": actor.user_id,
        },
    )
    move = present_move(row)
    audit = {k: v for k, v in move.items() if v not in (None, "") and k not in ("id", "created_at", "created_by")}
    await record(
        cur,
        actor,
        action=f"stock_{spec.kind}",
        entity="part",
        entity_id=part["id"],
        changes={"move_id": row["id"], **audit},
    )
    extra = {"move_id": row["id"], "kind": spec.kind, "order_id": spec.order_id}
    pending.levels.extend({**level, **extra} for level in changed)
    return move


def _unit_cost(spec: Spec, average: Decimal) -> Decimal:
    """Receipts bring their own cost; returns may (else the average); everything else is valued at the average."""
    if spec.kind == MoveKind.RECEIVE:
        if spec.unit_cost is None:
            raise ValidationFailed("a receipt needs its unit_cost", field="unit_cost")
        return spec.unit_cost
    if spec.unit_cost is not None and spec.kind != MoveKind.RETURN:
        raise ValidationFailed(f"an {spec.kind} is valued at the part's average cost", field="unit_cost")
    return spec.unit_cost if spec.unit_cost is not None else Decimal(average)


async def move(deps: Deps, actor: Actor, data: MoveIn) -> dict[str, Any]:
    require(actor, STAFF if data.kind in HANDS_ON else SUPERVISORS, f"post {data.kind} moves")
    spec = Spec(
        part_id=data.part_id,
        location_id=data.location_id,
        kind=data.kind,
        qty=data.qty,
        unit_cost=data.unit_cost,
        to_location_id=data.to_location_id,
        order_id=data.order_id,
        note=data.note,
    )
    async with mutation(deps, actor) as cur:
        pending = Pending()
        moved = await post(cur, actor, spec, pending)
        await flush(cur, actor, pending)
        return moved


async def list_moves(deps: Deps, actor: Actor, query: MoveQuery) -> Page:
    require(actor, STAFF, "see stock moves")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows, cursor = await repo.page_moves(
            cur, actor.tenant_id, query.part_id, query.order_id, query.location_id, query.limit, query.cursor
        )
    return [present_move(r) for r in rows], cursor


async def part_stock(deps: Deps, actor: Actor, part_id: int) -> dict[str, Any]:
    require(actor, STAFF, "see stock")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        part = await part_repo.find(cur, part_repo.PARTS, actor.tenant_id, part_id)
        if part is None:
            raise NotFound(f"part {part_id} not found")
        levels = await repo.levels(cur, actor.tenant_id, part_id)
    on_hand = sum((Decimal(r["on_hand"]) for r in levels), rules.ZERO)
    available = sum((Level(r["on_hand"], r["reserved"]).available for r in levels), rules.ZERO)
    return {
        "part_id": part_id,
        "unit": part["unit"],
        "min_qty": qty_text(part["min_qty"]),
        "average_cost": rules.cost_text(part["average_cost"]),
        "on_hand": qty_text(on_hand),
        "available": qty_text(available),
        "locations": [present_level(r, part) for r in levels],
    }


async def low_stock(deps: Deps, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Where stock is below its minimum, with the reorder suggestion (the part's reorder_qty)."""
    require(actor, STAFF, "see stock")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows = await repo.low_levels(cur, actor.tenant_id, limit)
    out = []
    for r in rows:
        level = Level(r["on_hand"], r["reserved"])
        out.append(
            {
                "part_id": r["part_id"],
                "number": r["number"],
                "name": r["name"],
                "unit": r["unit"],
                "location_id": r["location_id"],
                "location": r["location"],
                "on_hand": qty_text(level.on_hand),
                "reserved": qty_text(level.reserved),
                "available": qty_text(level.available),
                "min_qty": qty_text(r["min_qty"]),
                "reorder_qty": qty_text(r["reorder_qty"]),
            }
        )
    return out
