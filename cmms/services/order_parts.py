"""Parts on work orders: plan (reserve), issue (a move at the average cost of that moment, kept on
the line so the order's cost never changes afterwards), remove (release, or return what was issued).

Who: supervisors on any order, technicians on orders assigned to them (as for time and costs).
A completed, closed or cancelled order keeps its lines as they are; cancelling an order releases
what it still had reserved (`release_all`, called from the order's transition).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import order_parts as repo
from cmms.db.repos import parts as part_repo
from cmms.domain import stock as rules
from cmms.domain.errors import Conflict, NotFound
from cmms.domain.inventory import OrderPartIn
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import Actor
from cmms.domain.stock import MoveKind, qty_text
from cmms.services import order_work, stock
from cmms.services.common import mutation, record
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "tenant_id"}
    out["qty"] = qty_text(row["qty"])
    cost = row["unit_cost"]
    out["unit_cost"] = None if cost is None else rules.cost_text(cost)
    out["cost"] = None if cost is None else str(rules.line_cost(row["qty"], cost))
    return out


async def _reserve(cur: Cursor, actor: Actor, line: dict[str, Any], sign: int, pending: stock.Pending) -> None:
    part = await stock.known(cur, part_repo.PARTS, actor.tenant_id, line["part_id"], "part_id")
    await stock.known(cur, part_repo.LOCATIONS, actor.tenant_id, line["location_id"], "location_id")
    qty = sign * line["qty"]
    level = await stock.change_level(cur, actor, part, line["location_id"], reserved=qty, pending=pending)
    pending.levels.append({**level, "order_id": line["order_id"], "order_part_id": line["id"]})


async def plan(deps: Deps, actor: Actor, order_id: int, data: OrderPartIn) -> dict[str, Any]:
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id, lock="SHARE")
        order_work.check_open(order, order_work.FROZEN, "parts")
        await stock.known(cur, part_repo.PARTS, actor.tenant_id, data.part_id, "part_id")
        await stock.known(cur, part_repo.LOCATIONS, actor.tenant_id, data.location_id, "location_id")
        row = await repo.insert(
            cur,
            {
                "tenant_id": actor.tenant_id,
                "order_id": order_id,
                "part_id": data.part_id,
                "location_id": data.location_id,
                "qty": data.qty,
                "created_by": actor.user_id,
            },
        )
        pending = stock.Pending()
        await _reserve(cur, actor, row, +1, pending)
        await stock.flush(cur, actor, pending)
        out = present(row)
        changes = {"line_id": row["id"], "part_id": data.part_id, "location_id": data.location_id, "qty": out["qty"]}
        await record(
            cur,
            actor,
            action="part_plan",
            entity="order",
            entity_id=order_id,
            changes=changes,
            event=order_work.changed(order, "parts", line=out),
        )
        return out


async def _line(cur: Cursor, actor: Actor, order_id: int, line_id: int) -> dict[str, Any]:
    row = await repo.line(cur, actor.tenant_id, order_id, line_id)
    if row is None:
        raise NotFound(f"work order {order_id} has no part line {line_id}", field="line_id")
    return row


async def issue(deps: Deps, actor: Actor, order_id: int, line_id: int, version: int | None) -> dict[str, Any]:
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id, lock="SHARE")
        row = await _line(cur, actor, order_id, line_id)
        order_work.check_open(order, order_work.FROZEN, "parts")
        if row["status"] != "reserved":
            raise Conflict(f"the line is {row['status']}: only a reserved line is issued", field="status")
        spec = stock.Spec(
            part_id=row["part_id"],
            location_id=row["location_id"],
            kind=MoveKind.ISSUE,
            qty=row["qty"],
            order_id=order_id,
            order_part_id=line_id,
            unreserve=row["qty"],
        )
        pending = stock.Pending()
        moved = await stock.post(cur, actor, spec, pending)
        await stock.flush(cur, actor, pending)
        changes = {"status": "issued", "unit_cost": Decimal(moved["unit_cost"]), "issued_at": deps.clock()}
        updated = await _update(cur, row, changes, version)
        out = present(updated)
        await record(
            cur,
            actor,
            action="part_issue",
            entity="order",
            entity_id=order_id,
            changes={"line_id": line_id, "move_id": moved["id"], "unit_cost": out["unit_cost"], "cost": out["cost"]},
            event=order_work.changed(order, "parts", line=out),
        )
        return out


async def _update(cur: Cursor, row: dict[str, Any], changes: dict[str, Any], version: int | None) -> dict[str, Any]:
    return await crud.update(cur, repo.TABLE, row, changes, version)


async def remove(deps: Deps, actor: Actor, order_id: int, line_id: int, version: int | None) -> None:
    """Release a reservation, or return an issued line to its location at the cost it left with."""
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id, lock="SHARE")
        row = await _line(cur, actor, order_id, line_id)
        order_work.check_open(order, order_work.FROZEN, "parts")
        pending = stock.Pending()
        if row["status"] == "reserved":
            await _reserve(cur, actor, row, -1, pending)
            status = "released"
        elif row["status"] == "issued":
            spec = stock.Spec(
                part_id=row["part_id"],
                location_id=row["location_id"],
                kind=MoveKind.RETURN,
                qty=row["qty"],
                unit_cost=row["unit_cost"],
                order_id=order_id,
                order_part_id=line_id,
            )
            await stock.post(cur, actor, spec, pending)
            status = "returned"
        else:
            raise NotFound(f"work order {order_id} has no part line {line_id}", field="line_id")
        await stock.flush(cur, actor, pending)
        await _update(cur, row, {"status": status}, version)
        await record(
            cur,
            actor,
            action=f"part_{status}",
            entity="order",
            entity_id=order_id,
            changes={"line_id": line_id, "qty": qty_text(row["qty"])},
            event=order_work.changed(order, "parts", removed_line_id=line_id),
        )


async def release_all(cur: Cursor, actor: Actor, order_id: int) -> None:
    """Release every reservation of an order being cancelled, inside the transition's transaction."""
    pending = stock.Pending()
    for row in await repo.reserved_lines(cur, actor.tenant_id, order_id):
        await _reserve(cur, actor, row, -1, pending)
        await crud.update(cur, repo.TABLE, row, {"status": "released"}, None)
    await stock.flush(cur, actor, pending)


async def list_lines(deps: Deps, actor: Actor, order_id: int, query: PageQuery) -> Page:
    """The order's lines, newest first, released and returned ones included (its history)."""
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await order_work.readable(cur, actor, order_id)
        rows, cursor = await repo.page(cur, actor.tenant_id, order_id, query.limit, query.cursor)
    return [present(r) for r in rows], cursor


async def parts_cost(cur: Cursor, tenant_id: int, order_id: int) -> Decimal:
    """What the order's issued parts cost: each line at its own unit cost, rounded per line."""
    lines = await repo.issued_lines(cur, tenant_id, order_id)
    return sum((rules.line_cost(r["qty"], r["unit_cost"]) for r in lines), rules.ZERO)
