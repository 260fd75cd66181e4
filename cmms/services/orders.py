"""Work orders: creation, edits, the status workflow, notes and history, all authorised per role."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import orders as repo
from cmms.db.repos import procedures as procedure_repo
from cmms.domain import checklist, workflow
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cmms.domain.model import NoteIn, OrderIn, OrderPatch, TransitionIn
from cmms.domain.model_queries import OrderQuery, PageQuery
from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import OrderRef, Status
from cmms.services import order_parts
from cmms.services.common import (
    cached,
    cached_page,
    mutation,
    patch_values,
    query_key,
    record,
    record_update,
)
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]
EDITABLE = sorted(workflow.SUPERVISOR_FIELDS)


def _ref(row: dict[str, Any]) -> OrderRef:
    return OrderRef(status=Status(row["status"]), assignee_id=row["assignee_id"], requested_by=row["requested_by"])


def present(row: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """An order as this caller sees it: its number formatted, and the transitions it may take."""
    out = dict(row)
    out["number"] = workflow.format_number(row["number"])
    out["allowed_transitions"] = workflow.allowed_transitions(actor, _ref(row))
    return out


def _event_data(row: dict[str, Any]) -> dict[str, Any]:
    """What subscribers receive: the order without caller-specific fields."""
    out = dict(row)
    out["number"] = workflow.format_number(row["number"])
    return out


async def _visible(cur: Cursor, actor: Actor, order_id: int, *, lock: bool = False) -> dict[str, Any]:
    row = await repo.get(cur, actor.tenant_id, order_id, lock=lock)
    if not workflow.may_see(actor, _ref(row)):
        raise NotFound(f"work order {order_id} not found")
    return row


async def _check_references(cur: Cursor, actor: Actor, values: dict[str, Any]) -> None:
    """Asset, plant and assignee must exist in the tenant; the plant follows from the asset."""
    tenant = actor.tenant_id
    if values.get("asset_id") is not None:
        asset = await repo.asset_plant(cur, tenant, values["asset_id"])
        if asset is None:
            raise ValidationFailed(f"asset {values['asset_id']} does not exist", field="asset_id")
        if values.get("plant_id") not in (None, asset["plant_id"]):
            raise ValidationFailed("the asset belongs to another plant", field="plant_id")
        values["plant_id"] = asset["plant_id"]
    if values.get("plant_id") is not None and not await repo.plant_exists(cur, tenant, values["plant_id"]):
        raise ValidationFailed(f"plant {values['plant_id']} does not exist", field="plant_id")
    if values.get("assignee_id") is not None:
        user = await repo.assignable_user(cur, tenant, values["assignee_id"])
        if user is None or not user["active"]:
            raise ValidationFailed(f"user {values['assignee_id']} does not exist", field="assignee_id")
        if user["role"] == Role.REQUESTER:
            raise ValidationFailed("work can be assigned to technicians and supervisors only", field="assignee_id")


def _assignment_notice(order: dict[str, Any]) -> ev.Event:
    number = workflow.format_number(order["number"])
    return ev.Event(
        ev.NOTIFICATION,
        {
            "kind": "order_assigned",
            "order_id": order["id"],
            "title": f"{number} assigned to you",
            "body": order["title"],
            "level": "info",
            "link": f"/orders/{order['id']}",
        },
        ev.user_audience(order["assignee_id"]),
    )


async def insert_recorded(cur: Cursor, actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """Insert an order with its number, audit row and `order:created` event (inside a mutation)."""
    row = await repo.insert(cur, actor.tenant_id, values)
    await record(
        cur,
        actor,
        action="create",
        entity="order",
        entity_id=row["id"],
        changes={k: v for k, v in values.items() if v not in (None, "")},
        event=ev.Event(ev.ORDER_CREATED, _event_data(row), ev.order_audience(row)),
    )
    return row


async def list_orders(deps: Deps, actor: Actor, query: OrderQuery) -> Page:
    own = actor.user_id if actor.role == Role.REQUESTER else None
    key = f"own:{own}:{query_key(query)}"
    rows, cursor = await cached_page(
        deps, actor, "orders", key, lambda cur: repo.list_page(cur, actor.tenant_id, query, own)
    )
    return [present(r, actor) for r in rows], cursor


async def get(deps: Deps, actor: Actor, order_id: int) -> dict[str, Any]:
    row = await cached(deps, actor, "orders", f"id:{order_id}", lambda cur: repo.get(cur, actor.tenant_id, order_id))
    if not workflow.may_see(actor, _ref(row)):
        raise NotFound(f"work order {order_id} not found")
    return present(row, actor)


async def create(deps: Deps, actor: Actor, data: OrderIn) -> dict[str, Any]:
    values = data.model_dump()
    if values.get("assignee_id") is not None and not actor.is_supervisor:
        raise Forbidden("only managers and admins assign work", field="assignee_id")
    values["status"] = workflow.initial_status(actor)
    values["requested_by"] = actor.user_id
    async with mutation(deps, actor, "orders") as cur:
        await _check_references(cur, actor, values)
        row = await insert_recorded(cur, actor, values)
        if row["assignee_id"] is not None and row["assignee_id"] != actor.user_id:
            await record(
                cur,
                actor,
                action="assign",
                entity="order",
                entity_id=row["id"],
                changes={"assignee_id": [None, row["assignee_id"]]},
                event=_assignment_notice(row),
            )
        return present(row, actor)


async def update(deps: Deps, actor: Actor, order_id: int, data: OrderPatch, version: int | None) -> dict[str, Any]:
    changes = patch_values(data)
    for required in ("title", "type", "priority", "downtime_minutes"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=required)
    async with mutation(deps, actor, "orders") as cur:
        current = await _visible(cur, actor, order_id, lock=True)
        workflow.check_update(actor, _ref(current), set(changes))
        if "asset_id" in changes and changes["asset_id"] is not None:
            changes["plant_id"] = None
        await _check_references(cur, actor, changes)
        if "plant_id" in changes and changes["plant_id"] is None:
            changes.pop("plant_id")
        row = await crud.update(cur, repo.TABLE, current, changes, version)
        diff = await record_update(
            cur,
            actor,
            entity="order",
            before=current,
            after=row,
            fields=changes,
            event_type=ev.ORDER_UPDATED,
            audience=ev.order_audience(row),
            data=_event_data(row),
        )
        if "assignee_id" in diff and row["assignee_id"] is not None and row["assignee_id"] != actor.user_id:
            await record(
                cur,
                actor,
                action="assign",
                entity="order",
                entity_id=order_id,
                changes={"assignee_id": diff["assignee_id"]},
                event=_assignment_notice(row),
            )
        return present(row, actor)


async def transition(
    deps: Deps, actor: Actor, order_id: int, data: TransitionIn, version: int | None
) -> dict[str, Any]:
    async with mutation(deps, actor, "orders") as cur:
        current = await _visible(cur, actor, order_id, lock=True)
        workflow.check_transition(actor, _ref(current), data.to)
        if data.to == Status.COMPLETED:
            missing = await procedure_repo.missing_required(cur, actor.tenant_id, order_id)
            if missing:
                raise Conflict(checklist.missing_detail(missing), field="checklist")
        changes: dict[str, Any] = {"status": data.to}
        changes.update(workflow.transition_stamps(current, data.to, deps.clock()))
        row = await crud.update(cur, repo.TABLE, current, changes, version)
        if data.to == Status.CANCELLED:
            await order_parts.release_all(cur, actor, order_id)
        if data.note:
            await repo.add_note(cur, actor.tenant_id, order_id, actor.user_id, data.note)
        audit: dict[str, Any] = {"status": [current["status"], data.to]}
        if data.note:
            audit["note"] = data.note
        await record(
            cur,
            actor,
            action="transition",
            entity="order",
            entity_id=order_id,
            changes=audit,
            event=ev.Event(
                ev.ORDER_STATUS_CHANGED,
                {**_event_data(row), "from": current["status"], "to": data.to, "by": actor.user_id},
                ev.order_audience(row),
            ),
        )
        return present(row, actor)


async def add_note(deps: Deps, actor: Actor, order_id: int, data: NoteIn) -> dict[str, Any]:
    async with mutation(deps, actor, "orders") as cur:
        current = await _visible(cur, actor, order_id)
        if not workflow.may_add_note(actor, _ref(current)):
            raise Forbidden("only the assignee, the requester or a supervisor may add notes")
        note = await repo.add_note(cur, actor.tenant_id, order_id, actor.user_id, data.body)
        await record(
            cur,
            actor,
            action="note",
            entity="order",
            entity_id=order_id,
            changes={"note": data.body},
            event=ev.Event(
                ev.ORDER_UPDATED, {**_event_data(current), "changed": ["notes"]}, ev.order_audience(current)
            ),
        )
        return {k: note[k] for k in ("id", "order_id", "author_id", "body", "created_at")}


async def notes(deps: Deps, actor: Actor, order_id: int, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await _visible(cur, actor, order_id)
        return await repo.notes(cur, actor.tenant_id, order_id, query.limit, query.cursor)


async def history(deps: Deps, actor: Actor, order_id: int, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await _visible(cur, actor, order_id)
        return await repo.history(cur, actor.tenant_id, order_id, query.limit, query.cursor)
