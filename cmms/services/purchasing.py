"""Purchase orders: supervisors write them, staff read them; receipts post `receive` moves.

A receipt runs in one transaction: the purchase order row is locked FOR UPDATE (so two receipts
of the same order queue and the second sees what the first took), each line's move goes through
`stock.post` at the line's unit cost — lines in part order, the lock order of the stock moves —
and the order's status follows from what is still outstanding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import parts as part_repo
from cmms.db.repos import purchasing as repo
from cmms.domain import events as ev
from cmms.domain import purchasing as rules
from cmms.domain.purchasing import POQuery, POStatus, POTransitionIn, PurchaseOrderIn, ReceiptIn
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.domain.stock import MoveKind, line_cost, qty_text
from cmms.services import stock
from cmms.services.common import mutation, record, require
from cmms.services.deps import Deps

PO_CREATED = ev.PURCHASE_ORDER_CREATED
PO_UPDATED = ev.PURCHASE_ORDER_UPDATED
Page = tuple[list[dict[str, Any]], str | None]


def present(row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "tenant_id"}
    out["lines"] = [
        {
            "id": line["id"],
            "part_id": line["part_id"],
            "qty": qty_text(line["qty"]),
            "unit_cost": str(line["unit_cost"]),
            "received_qty": qty_text(line["received_qty"]),
        }
        for line in lines
    ]
    total = sum((line_cost(line["qty"], line["unit_cost"]) for line in lines), Decimal("0.00"))
    out["total"] = str(total)
    return out


async def _load(
    cur: Cursor, actor: Actor, po_id: int, *, lock: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = await repo.get(cur, actor.tenant_id, po_id, lock=lock)
    return row, await repo.lines(cur, actor.tenant_id, [po_id], lock=lock)


async def create(deps: Deps, actor: Actor, data: PurchaseOrderIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "write purchase orders")
    async with mutation(deps, actor) as cur:
        await stock.known(cur, part_repo.VENDORS, actor.tenant_id, data.vendor_id, "vendor_id")
        await stock.known(cur, part_repo.LOCATIONS, actor.tenant_id, data.location_id, "location_id")
        for index, line in enumerate(data.lines):
            await stock.known(cur, part_repo.PARTS, actor.tenant_id, line.part_id, f"lines.{index}.part_id")
        row = await repo.insert(
            cur,
            {
                "tenant_id": actor.tenant_id,
                "vendor_id": data.vendor_id,
                "location_id": data.location_id,
                "reference": data.reference,
                "notes": data.notes,
                "created_by": actor.user_id,
            },
        )
        lines = []
        for position, line in enumerate(data.lines, start=1):
            values = {"part_id": line.part_id, "qty": line.qty, "unit_cost": line.unit_cost}
            lines.append(
                await repo.insert_line(
                    cur, {"tenant_id": actor.tenant_id, "purchase_order_id": row["id"], "position": position, **values}
                )
            )
        out = present(row, lines)
        await record(
            cur,
            actor,
            action="create",
            entity="purchase_order",
            entity_id=row["id"],
            changes={"vendor_id": data.vendor_id, "location_id": data.location_id, "total": out["total"]},
            event=ev.Event(PO_CREATED, out, list(ev.STAFF_ROOMS)),
        )
        return out


async def get(deps: Deps, actor: Actor, po_id: int) -> dict[str, Any]:
    require(actor, STAFF, "see purchase orders")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return present(*await _load(cur, actor, po_id))


async def list_orders(deps: Deps, actor: Actor, query: POQuery) -> Page:
    require(actor, STAFF, "see purchase orders")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows, cursor = await repo.page(cur, actor.tenant_id, query.status, query.vendor_id, query.limit, query.cursor)
        lines = await repo.lines(cur, actor.tenant_id, [r["id"] for r in rows])
    by_order: dict[int, list[dict[str, Any]]] = {}
    for line in lines:
        by_order.setdefault(line["purchase_order_id"], []).append(line)
    return [present(r, by_order.get(r["id"], [])) for r in rows], cursor


async def transition(deps: Deps, actor: Actor, po_id: int, data: POTransitionIn, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "order or cancel purchase orders")
    async with mutation(deps, actor) as cur:
        row, lines = await _load(cur, actor, po_id, lock=True)
        before = POStatus(row["status"])
        rules.check_transition(before, data.to)
        changes: dict[str, Any] = {"status": data.to}
        if data.to == POStatus.ORDERED:
            changes["ordered_at"] = deps.clock()
        row = await crud.update(cur, repo.ORDERS, row, changes, version)
        return await _announce(cur, actor, row, lines, "transition", {"status": [before, data.to]})


async def _announce(
    cur: Cursor, actor: Actor, row: dict[str, Any], lines: list[dict[str, Any]], action: str, changes: dict[str, Any]
) -> dict[str, Any]:
    out = present(row, lines)
    await record(
        cur,
        actor,
        action=action,
        entity="purchase_order",
        entity_id=row["id"],
        changes=changes,
        event=ev.Event(PO_UPDATED, {**out, "changed": sorted(changes)}, list(ev.STAFF_ROOMS)),
    )
    return out


async def receive(deps: Deps, actor: Actor, po_id: int, data: ReceiptIn, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "receive purchase orders")
    async with mutation(deps, actor) as cur:
        row, lines = await _load(cur, actor, po_id, lock=True)
        crud.check_version(row, version)
        rules.check_receivable(POStatus(row["status"]))
        by_id = {line["id"]: line for line in lines}
        taken = rules.receipt(by_id, [(entry.line_id, entry.qty) for entry in data.lines])
        pending = stock.Pending()
        for line_id in sorted(taken, key=lambda i: (by_id[i]["part_id"], i)):
            line, qty = by_id[line_id], taken[line_id]
            spec = stock.Spec(
                part_id=line["part_id"],
                location_id=row["location_id"],
                kind=MoveKind.RECEIVE,
                qty=qty,
                unit_cost=Decimal(line["unit_cost"]),
                purchase_order_id=po_id,
                note=f"purchase order {po_id}",
            )
            await stock.post(cur, actor, spec, pending)
            line["received_qty"] = Decimal(line["received_qty"]) + qty
            await repo.set_received(cur, actor.tenant_id, line_id, line["received_qty"])
        await stock.flush(cur, actor, pending)  # every level is locked now: publish
        status = rules.status_after_receipt(lines)
        received_at = deps.clock() if status == POStatus.RECEIVED else None
        row = await repo.after_receipt(cur, actor.tenant_id, po_id, status, received_at)
        received = {str(i): qty_text(q) for i, q in taken.items()}
        return await _announce(cur, actor, row, lines, "receive", {"received": received, "status": status})
