"""The work-order workflow and who may drive it.

requested → open → in_progress ⇄ on_hold → completed → closed; cancelled from requested, open or
on_hold; a supervisor may reopen completed → open. Technicians act only on orders assigned to them;
requesters may only withdraw (cancel) their own request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from cmms.domain.errors import Forbidden, InvalidTransition
from cmms.domain.roles import Actor, Role


class Status(StrEnum):
    REQUESTED = "requested"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.REQUESTED: frozenset({S.OPEN, S.CANCELLED}),
    S.OPEN: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.COMPLETED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.COMPLETED: frozenset({S.CLOSED, S.OPEN}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}

# The hands-on steps a technician takes on an order assigned to them.
TECHNICIAN_STEPS = frozenset(
    {(S.OPEN, S.IN_PROGRESS), (S.IN_PROGRESS, S.ON_HOLD), (S.ON_HOLD, S.IN_PROGRESS), (S.IN_PROGRESS, S.COMPLETED)}
)
ACTIVE = frozenset({S.REQUESTED, S.OPEN, S.IN_PROGRESS, S.ON_HOLD})


@dataclass(frozen=True)
class OrderRef:
    """What the rules need to know about an order."""

    status: Status
    assignee_id: int | None
    requested_by: int | None


def may_see(actor: Actor, order: OrderRef) -> bool:
    return actor.role != Role.REQUESTER or order.requested_by == actor.user_id


def may_transition(actor: Actor, order: OrderRef, to: Status) -> bool:
    if to not in TRANSITIONS[order.status]:
        return False
    if actor.is_supervisor:
        return True
    if actor.role == Role.TECHNICIAN:
        return (order.status, to) in TECHNICIAN_STEPS and order.assignee_id == actor.user_id
    return order.status == S.REQUESTED and to == S.CANCELLED and order.requested_by == actor.user_id


def allowed_transitions(actor: Actor, order: OrderRef) -> list[Status]:
    """The next statuses this actor may choose, in workflow order (what a client offers as buttons)."""
    return [s for s in Status if may_transition(actor, order, s)]


def check_transition(actor: Actor, order: OrderRef, to: Status) -> None:
    if to not in TRANSITIONS[order.status]:
        raise InvalidTransition(f"an order cannot go from {order.status} to {to}", field="to")
    if not may_transition(actor, order, to):
        raise Forbidden(f"a {actor.role} may not move this order from {order.status} to {to}")


def transition_stamps(current: dict[str, Any], to: Status, now: datetime) -> dict[str, Any]:
    """Timestamp columns that change with a status change."""
    stamps: dict[str, Any] = {}
    if to == S.IN_PROGRESS and current.get("started_at") is None:
        stamps["started_at"] = now
    elif to == S.COMPLETED:
        stamps["completed_at"] = now
    elif to == S.CLOSED:
        stamps["closed_at"] = now
    elif to == S.OPEN and current.get("status") == S.COMPLETED:
        stamps["completed_at"] = None
    return stamps


def initial_status(actor: Actor) -> Status:
    """Supervisors create ready-to-work orders; everyone else files a request for approval."""
    return S.OPEN if actor.is_supervisor else S.REQUESTED


# Fields each role may change with PATCH (supervisors: everything editable).
SUPERVISOR_FIELDS = frozenset(
    {"title", "description", "type", "priority", "asset_id", "assignee_id", "due_at", "downtime_minutes"}
)
TECHNICIAN_FIELDS = frozenset({"description", "downtime_minutes"})
REQUESTER_FIELDS = frozenset({"title", "description", "asset_id", "priority"})


def check_update(actor: Actor, order: OrderRef, changed: set[str]) -> None:
    if actor.is_supervisor:
        allowed = SUPERVISOR_FIELDS
    elif actor.role == Role.TECHNICIAN:
        if order.assignee_id != actor.user_id:
            raise Forbidden("technicians may only edit orders assigned to them")
        allowed = TECHNICIAN_FIELDS
    else:
        if order.requested_by != actor.user_id:
            raise Forbidden("requesters may only edit their own requests")
        if order.status != S.REQUESTED:
            raise Forbidden("a request can no longer be edited once it is approved")
        allowed = REQUESTER_FIELDS
    refused = sorted(changed - allowed)
    if refused:
        raise Forbidden(f"a {actor.role} may not change {', '.join(refused)}", field=refused[0])
    if order.status in (S.CLOSED, S.CANCELLED):
        raise InvalidTransition(f"a {order.status} order can no longer be edited")


def may_add_note(actor: Actor, order: OrderRef) -> bool:
    if actor.is_supervisor:
        return True
    if actor.role == Role.TECHNICIAN:
        return order.assignee_id == actor.user_id
    return order.requested_by == actor.user_id


def format_number(n: int) -> str:
    return f"WO-{n:06d}"
