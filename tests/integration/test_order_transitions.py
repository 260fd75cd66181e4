"""A test per role per transition: every workflow edge, taken by every kind of caller, over HTTP.

The expected answer comes from the contract's table written out here (not from the workflow module):
200 when the caller may take the edge, 403 when they see the order but may not, 404 when they may
not even see it (another requester's request). Each success leaves exactly one
`order:status-changed` row in the outbox; each refusal leaves none and the order as it was.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import OrderRef, Status, may_transition
from tests.integration.support import Tenant, assert_problem, ok

EDGES = [
    ("requested", "open"),
    ("requested", "cancelled"),
    ("open", "in_progress"),
    ("open", "cancelled"),
    ("in_progress", "on_hold"),
    ("in_progress", "completed"),
    ("on_hold", "in_progress"),
    ("on_hold", "cancelled"),
    ("completed", "closed"),
    ("completed", "open"),
]
HANDS_ON = {
    ("open", "in_progress"),
    ("in_progress", "on_hold"),
    ("on_hold", "in_progress"),
    ("in_progress", "completed"),
}
# caller key -> (user key in the tenant, the edges it may take)
CALLERS: dict[str, set[tuple[str, str]]] = {
    "admin": set(EDGES),
    "manager": set(EDGES),
    "technician": HANDS_ON,  # the assignee
    "technician2": set(),  # not assigned
    "requester": {("requested", "cancelled")},  # who filed the request
    "requester2": set(),  # another requester: does not see it at all
}
INVISIBLE = {"requester2"}
# How the admin brings a fresh request to each status.
PATHS: dict[str, list[str]] = {
    "requested": [],
    "open": ["open"],
    "in_progress": ["open", "in_progress"],
    "on_hold": ["open", "in_progress", "on_hold"],
    "completed": ["open", "in_progress", "completed"],
    "closed": ["open", "in_progress", "completed", "closed"],
    "cancelled": ["cancelled"],
}
NON_EDGES = [(a, b) for a, b in product(PATHS, [s.value for s in Status]) if (a, b) not in EDGES]


@pytest.fixture(scope="module")
async def shop(tenant: Tenant) -> Tenant:
    await tenant.add_user("technician2", "technician")
    await tenant.add_user("requester2", "requester")
    return tenant


async def order_in(shop: Tenant, status: str) -> dict[str, Any]:
    """A request filed by `requester`, assigned to `technician`, moved by the admin to `status`."""
    admin = shop["admin"]
    order = ok(await shop["requester"].post("/api/v1/orders", {"title": f"to {status}"}), 201)
    order = ok(await admin.patch(f"/api/v1/orders/{order['id']}", {"assignee_id": shop["technician"].user_id}))
    for to in PATHS[status]:
        order = ok(await admin.post(f"/api/v1/orders/{order['id']}/transition", {"to": to}))
    assert order["status"] == status
    return order


async def status_events(shop: Tenant, order_id: int) -> list[dict[str, Any]]:
    rows = await shop.sql(
        "SELECT seq, data FROM outbox WHERE type = 'order:status-changed' AND (data->>'id')::bigint = %s ORDER BY seq",
        (order_id,),
    )
    return [r["data"] for r in rows]


def test_the_table_agrees_with_the_workflow() -> None:
    """Guards the expectation table itself against the domain rule it mirrors."""
    ids = {"admin": 1, "manager": 2, "technician": 3, "technician2": 4, "requester": 5, "requester2": 6}
    roles = {"admin": Role.ADMIN, "manager": Role.MANAGER, "technician": Role.TECHNICIAN}
    roles |= {"technician2": Role.TECHNICIAN, "requester": Role.REQUESTER, "requester2": Role.REQUESTER}
    for who, (frm, to) in product(CALLERS, EDGES):
        ref = OrderRef(Status(frm), assignee_id=3, requested_by=5)
        actor = Actor(1, ids[who], roles[who])
        assert may_transition(actor, ref, Status(to)) is ((frm, to) in CALLERS[who]), (who, frm, to)


@pytest.mark.parametrize(("frm", "to"), EDGES, ids=[f"{a}->{b}" for a, b in EDGES])
@pytest.mark.parametrize("who", list(CALLERS))
async def test_edge_by_caller(shop: Tenant, who: str, frm: str, to: str) -> None:
    order = await order_in(shop, frm)
    url = f"/api/v1/orders/{order['id']}"
    before = await status_events(shop, order["id"])
    api = shop[who]
    reply = await api.post(f"{url}/transition", {"to": to, "note": f"{who}: {frm} -> {to}"})
    if (frm, to) in CALLERS[who]:
        moved = ok(reply)
        assert moved["id"] == order["id"]
        assert moved["status"] == to
        assert moved["version"] == order["version"] + 1
        assert reply.headers["ETag"] == f'"{moved["version"]}"'
        after = await status_events(shop, order["id"])
        assert len(after) == len(before) + 1
        event = after[-1]
        assert (event["from"], event["to"], event["by"]) == (frm, to, api.user_id)
        assert event["status"] == to
        assert event["number"] == order["number"]
    else:
        assert_problem(reply, 404 if who in INVISIBLE else 403)
        assert await status_events(shop, order["id"]) == before
        unchanged = ok(await shop["admin"].get(url))
        assert unchanged["status"] == frm
        assert unchanged["version"] == order["version"]
        assert ok(await shop["admin"].get(f"{url}/notes"))["items"] == []  # the note was not kept either


@pytest.mark.parametrize(("frm", "to"), NON_EDGES, ids=[f"{a}->{b}" for a, b in NON_EDGES])
async def test_non_edge_is_409_even_for_the_admin(shop: Tenant, frm: str, to: str) -> None:
    order = await order_in(shop, frm)
    url = f"/api/v1/orders/{order['id']}"
    before = await status_events(shop, order["id"])
    assert_problem(await shop["admin"].post(f"{url}/transition", {"to": to}), 409)
    assert ok(await shop["admin"].get(url))["status"] == frm
    assert await status_events(shop, order["id"]) == before


async def test_a_technician_cannot_act_on_an_unassigned_order(shop: Tenant) -> None:
    order = ok(await shop["admin"].post("/api/v1/orders", {"title": "nobody's"}), 201)
    reply = await shop["technician"].post(f"/api/v1/orders/{order['id']}/transition", {"to": "in_progress"})
    assert_problem(reply, 403)
