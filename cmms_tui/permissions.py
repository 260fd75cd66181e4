"""Which fields of an order this caller may change: the console offers those and nothing else.

A mirror of the server's rule (`PATCH /api/v1/orders/{id}` answers 403 for any other field);
tests/contract/test_permissions.py checks it against the real server for every role.
"""

from __future__ import annotations

from cmms_tui.models import SUPERVISORS, Order

SUPERVISOR_FIELDS = frozenset(
    {"title", "description", "type", "priority", "asset_id", "assignee_id", "due_at", "downtime_minutes"}
)
TECHNICIAN_FIELDS = frozenset({"description", "downtime_minutes"})  # on orders assigned to them
REQUESTER_FIELDS = frozenset({"title", "description", "asset_id", "priority"})  # own requests, before approval
FINISHED = frozenset({"closed", "cancelled"})


def editable_fields(role: str, user_id: int, order: Order) -> frozenset[str]:
    if order["status"] in FINISHED:
        return frozenset()
    if role in SUPERVISORS:
        return SUPERVISOR_FIELDS
    if role == "technician":
        return TECHNICIAN_FIELDS if order["assignee_id"] == user_id else frozenset()
    if order["requested_by"] == user_id and order["status"] == "requested":
        return REQUESTER_FIELDS
    return frozenset()
