"""Who may see and do the work on an order (checklist, time, costs), and the event that announces it.

Staff read the work of any order; technicians record it only on orders assigned to them,
supervisors on any. Requesters follow their order's status, never its checklist, time or cost.
Events go to staff rooms only, for the same reason.
"""

from __future__ import annotations

from typing import Any

from cmms.db.pool import Cursor
from cmms.db.repos import orders as order_repo
from cmms.domain import events as ev
from cmms.domain import workflow
from cmms.domain.errors import Conflict, Forbidden, NotFound
from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import OrderRef, Status

FROZEN = frozenset({Status.COMPLETED, Status.CLOSED, Status.CANCELLED})  # a checklist no longer changes
SETTLED = frozenset({Status.CLOSED, Status.CANCELLED})  # time and costs no longer change


async def readable(cur: Cursor, actor: Actor, order_id: int, *, lock: str = "") -> dict[str, Any]:
    """The order, for a staff member (404 when it is not visible, 403 for requesters)."""
    row = await order_repo.get(cur, actor.tenant_id, order_id, share=lock == "SHARE", lock=lock == "UPDATE")
    ref = OrderRef(Status(row["status"]), row["assignee_id"], row["requested_by"])
    if not workflow.may_see(actor, ref):
        raise NotFound(f"work order {order_id} not found")
    if actor.role == Role.REQUESTER:
        raise Forbidden("requesters follow an order's status, not its work, time or costs")
    return row


async def workable(cur: Cursor, actor: Actor, order_id: int, *, lock: str = "") -> dict[str, Any]:
    """The order, for someone who may record work on it: a supervisor, or its assigned technician."""
    row = await readable(cur, actor, order_id, lock=lock)
    if actor.role == Role.TECHNICIAN and row["assignee_id"] != actor.user_id:
        raise Forbidden("technicians record work only on orders assigned to them")
    return row


def check_open(order: dict[str, Any], frozen: frozenset[Status], what: str) -> None:
    if order["status"] in frozen:
        raise Conflict(f"the order is {order['status']}: its {what} can no longer change", field="status")


def changed(order: dict[str, Any], what: str, **extra: Any) -> ev.Event:
    """`order:updated` naming what changed (checklist, time or cost), for staff only."""
    data = {**order, "number": workflow.format_number(order["number"]), "changed": [what], **extra}
    return ev.Event(ev.ORDER_UPDATED, data, list(ev.STAFF_ROOMS))
