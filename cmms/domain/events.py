"""Events every mutation records in the outbox, and the audiences that may see them.

An audience is a list of room suffixes: "tenant", "role:<role>", "user:<id>". The Socket.IO
server maps them onto `tenant:<id>`, `tenant:<id>:role:<role>` and `user:<id>`, and the replay
endpoint filters stored events with the same list, so live and replayed delivery never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmms.domain.roles import STAFF, Actor, Role

ORDER_CREATED = "order:created"
ORDER_UPDATED = "order:updated"
ORDER_STATUS_CHANGED = "order:status-changed"
ASSET_CREATED = "asset:created"
ASSET_UPDATED = "asset:updated"
ASSET_DELETED = "asset:deleted"
ALERT_TRIGGERED = "alert:triggered"
ALERT_UPDATED = "alert:updated"
NOTIFICATION = "notification"
JOB_PROGRESS = "job:progress"
PLANT_CREATED = "plant:created"
PLANT_UPDATED = "plant:updated"
PLANT_DELETED = "plant:deleted"
PLAN_CREATED = "plan:created"
PLAN_UPDATED = "plan:updated"
PLAN_DELETED = "plan:deleted"
USER_CREATED = "user:created"
USER_UPDATED = "user:updated"
SESSION_ENDED = "session:ended"
JOB_QUEUED = "job:queued"
PART_CREATED = "part:created"
PART_UPDATED = "part:updated"
PART_DELETED = "part:deleted"
STOCK_CHANGED = "stock:changed"
PURCHASE_ORDER_CREATED = "purchase-order:created"
PURCHASE_ORDER_UPDATED = "purchase-order:updated"
API_KEY_CREATED = "api_key:created"
API_KEY_REVOKED = "api_key:revoked"
ATTACHMENT_ADDED = "attachment:added"
ATTACHMENT_REMOVED = "attachment:removed"

TENANT = ["tenant"]
STAFF_ROOMS = sorted(f"role:{r}" for r in STAFF)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    audience: list[str] = field(default_factory=lambda: list(TENANT))


def order_audience(order: dict[str, Any]) -> list[str]:
    """Staff see every order; a requester sees only events about their own requests."""
    rooms = list(STAFF_ROOMS)
    if order.get("requested_by"):
        rooms.append(f"user:{order['requested_by']}")
    return rooms


SUPERVISOR_ROOMS = ["role:admin", "role:manager"]


def user_audience(user_id: int) -> list[str]:
    return [f"user:{user_id}"]


def ends_sockets(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """Which sockets an event closes: a logged-out session, or a user deactivated or re-roled."""
    if event_type == SESSION_ENDED:
        return {"session_id": data.get("session_id")}
    changed = set(data.get("changed", ()))
    if event_type == USER_UPDATED and (
        changed & {"role", "password"} or ("active" in changed and not data.get("active"))
    ):
        return {"user_id": data.get("id")}
    return None


def visible_rooms(actor: Actor) -> list[str]:
    """The audiences an actor belongs to (used to filter replay)."""
    rooms = ["tenant", f"role:{actor.role}"]
    if actor.user_id is not None:
        rooms.append(f"user:{actor.user_id}")
    return rooms


def is_requester(actor: Actor) -> bool:
    return actor.role == Role.REQUESTER
