"""An order's checklist: attach a procedure (a snapshot), read it, record its items.

Recording takes the order FOR SHARE (many items may be recorded at once, but the order cannot
complete meanwhile) and the item FOR UPDATE, so two recordings of one item run one after the
other: the second sees the follow-up order the first opened and opens none, and without
If-Match the later value wins, each with its own audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import assets as asset_repo
from cmms.db.repos import procedures as repo
from cmms.domain import checklist as rules
from cmms.domain import workflow
from cmms.domain.checklist import AttachIn, ItemRecordIn, ItemResult, ItemType
from cmms.domain.errors import Conflict, NotFound, ValidationFailed
from cmms.domain.model import ReadingIn, ReadingsIn
from cmms.domain.model_types import OrderType
from cmms.domain.roles import Actor
from cmms.services import order_work, orders, readings
from cmms.services.common import mutation, patch_values, record
from cmms.services.deps import Deps


def present_item(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in rules.ChecklistItem.model_fields}


def present(head: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "order_id": head["order_id"],
        "procedure_id": head["procedure_id"],
        "revision": head["revision"],
        "name": head["name"],
        "attached_by": head["attached_by"],
        "attached_at": head["attached_at"],
        "items": [present_item(i) for i in items],
        "missing_required": [i["id"] for i in rules.missing_required(items)],
    }


async def get(deps: Deps, actor: Actor, order_id: int) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await order_work.readable(cur, actor, order_id)
        return await _load(cur, actor.tenant_id, order_id)


async def _load(cur: Cursor, tenant_id: int, order_id: int) -> dict[str, Any]:
    head = await repo.checklist(cur, tenant_id, order_id)
    if head is None:
        raise NotFound(f"work order {order_id} has no checklist")
    return present(head, await repo.items(cur, tenant_id, order_id))


async def attach(deps: Deps, actor: Actor, order_id: int, data: AttachIn) -> dict[str, Any]:
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id, lock="SHARE")
        order_work.check_open(order, order_work.FROZEN, "checklist")
        if await repo.checklist(cur, actor.tenant_id, order_id) is not None:
            raise Conflict("the order has a checklist already", field="procedure_id")
        procedure = await repo.find(cur, actor.tenant_id, data.procedure_id)
        if procedure is None:
            raise ValidationFailed(f"procedure {data.procedure_id} does not exist", field="procedure_id")
        await attach_in(cur, actor, order, procedure)
        return await _load(cur, actor.tenant_id, order_id)


async def attach_in(cur: Cursor, actor: Actor, order: dict[str, Any], procedure: dict[str, Any]) -> None:
    """Copy a procedure onto an order inside the caller's transaction (PM orders use this too)."""
    await repo.attach(cur, actor.tenant_id, order["id"], procedure, actor.user_id)
    await record(
        cur,
        actor,
        action="attach_checklist",
        entity="order",
        entity_id=order["id"],
        changes={"procedure_id": procedure["id"], "revision": procedure["revision"]},
        event=order_work.changed(order, "checklist"),
    )


async def record_item(
    deps: Deps, actor: Actor, order_id: int, item_id: int, data: ItemRecordIn, version: int | None
) -> dict[str, Any]:
    now = deps.clock()
    async with mutation(deps, actor, "orders", "alerts") as cur:
        order = await order_work.workable(cur, actor, order_id, lock="SHARE")
        order_work.check_open(order, order_work.FROZEN, "checklist")
        item = await repo.item(cur, actor.tenant_id, order_id, item_id, lock=True)
        if item is None:
            raise NotFound(f"work order {order_id} has no checklist item {item_id}", field="item_id")
        crud.check_version(item, version)
        sent = patch_values(data)
        if item["type"] == ItemType.HEADING:
            raise ValidationFailed("a heading records nothing", field="value")
        if not sent:
            return present_item(item)  # nothing sent, nothing recorded
        recorded = rules.check_value(item, data.value) if "value" in sent else None
        values = {
            "value": item["value"] if recorded is None else recorded.value,
            "result": item["result"] if recorded is None else recorded.result,
            "notes": data.notes if "notes" in sent else item["notes"],
            "done_by": item["done_by"],
            "done_at": item["done_at"],
        }
        if recorded is not None:
            done = recorded.value is not None
            values["done_by"], values["done_at"] = (actor.user_id, now) if done else (None, None)
            if item["type"] == ItemType.METER and done and recorded.value != item["value"]:
                await _reading(cur, actor, order, item, float(recorded.value or 0), now)
        row = await repo.record_item(cur, actor.tenant_id, item_id, values)
        if row["result"] == ItemResult.FAIL and row["follow_up_id"] is None:
            follow_up = await _follow_up(cur, actor, order, row)
            await repo.set_follow_up(cur, actor.tenant_id, item_id, follow_up["id"])
            row["follow_up_id"] = follow_up["id"]
        out = present_item(row)
        await record(
            cur,
            actor,
            action="record_item",
            entity="order",
            entity_id=order_id,
            changes={"item_id": item_id, **{k: [item[k], row[k]] for k in ("value", "result", "notes")}},
            event=order_work.changed(order, "checklist", item=out),
        )
        return out


async def _reading(
    cur: Cursor, actor: Actor, order: dict[str, Any], item: dict[str, Any], value: float, now: datetime
) -> None:
    """A meter item's value is also a reading of the order's asset (meter plans and alerts see it)."""
    meter = item["meter"]
    asset = None if order["asset_id"] is None else await asset_repo.find(cur, actor.tenant_id, order["asset_id"])
    if asset is None:
        raise ValidationFailed(f"the order has no asset to record meter {meter!r} on", field="value")
    if meter not in {m["name"] for m in asset["meters"]}:
        raise ValidationFailed(f"asset {asset['id']} has no meter {meter!r}", field="value")
    await readings.add_in(cur, actor, asset, ReadingsIn(readings=[ReadingIn(meter=meter, value=value, at=now)]), now)


async def _follow_up(cur: Cursor, actor: Actor, order: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    number = workflow.format_number(order["number"])
    value = "" if item["value"] is None else f" (recorded: {item['value']}{' ' + item['unit'] if item['unit'] else ''})"
    description = f"Checklist item {item['label']!r} of {number} was recorded as fail{value}."
    if item["notes"]:
        description += f"\n\nNotes: {item['notes']}"
    values: dict[str, Any] = {
        "title": rules.follow_up_title(item["label"], number),
        "description": description,
        "type": OrderType.CORRECTIVE,
        "priority": order["priority"],
        "status": workflow.initial_status(actor),
        "asset_id": order["asset_id"],
        "plant_id": order["plant_id"],
        "requested_by": actor.user_id,
        "follow_up_of": order["id"],
    }
    return await orders.insert_recorded(cur, actor, values)
