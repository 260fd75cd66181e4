"""The console's copy of who may edit which order field (cmms_tui.permissions) agrees with the server,
and the directory of people the console names people from."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError
from cmms_tui.models import Order
from cmms_tui.permissions import SUPERVISOR_FIELDS, editable_fields
from tests.tui.server import PASSWORD, TENANT, USERS, Server


async def client(server: Server, who: str) -> ApiClient:
    api = ApiClient(server.base)
    await api.login(TENANT, USERS[who][0], PASSWORD)
    return api


def valid_values(asset_id: int, technician_id: int) -> dict[str, Any]:
    return {
        "title": f"Edited {uuid.uuid4().hex[:6]}",
        "description": "edited",
        "type": "inspection",
        "priority": "low",
        "asset_id": asset_id,
        "assignee_id": technician_id,
        "due_at": "2031-01-01T08:00:00Z",
        "downtime_minutes": 5,
    }


def order_for(server: Server, case: str, technician_id: int) -> dict[str, Any]:
    """A fresh order in the situation `case` names (each field is tried on its own copy)."""
    if case.startswith("request"):
        order = server.call("requester", "POST", "/api/v1/orders", {"title": "A request"})
        if case == "request-approved":
            server.call("manager", "POST", f"/api/v1/orders/{order['id']}/transition", {"to": "open"})
        return dict(order)
    body: dict[str, Any] = {"title": f"Case {case}"}
    if case in ("assigned", "closed"):
        body["assignee_id"] = technician_id
    order = server.call("manager", "POST", "/api/v1/orders", body)
    if case == "closed":
        server.call("manager", "POST", f"/api/v1/orders/{order['id']}/transition", {"to": "cancelled"})
    return dict(order)


CASES = [
    ("manager", "unassigned"),
    ("manager", "closed"),
    ("technician", "assigned"),
    ("technician", "unassigned"),
    ("requester", "request"),
    ("requester", "request-approved"),
]


@pytest.mark.parametrize(("who", "case"), CASES)
async def test_the_console_offers_exactly_the_fields_the_server_accepts(server: Server, who: str, case: str) -> None:
    technician_id = server.ids.get("technician") or (server.login("technician") and server.ids["technician"])
    plant = server.call("manager", "POST", "/api/v1/plants", {"name": f"Plant {uuid.uuid4().hex[:6]}"})
    asset = server.call("manager", "POST", "/api/v1/assets", {"name": "Pump", "plant_id": plant["id"]})
    values = valid_values(asset["id"], technician_id)
    api = await client(server, who)
    try:
        me = (await api.me())["user"]["id"]
        for name in sorted(SUPERVISOR_FIELDS):
            order: Order = await api.order(order_for(server, case, technician_id)["id"])
            offered = name in editable_fields(who, me, order)
            try:
                await api.update_order(order["id"], {name: values[name]}, version=order["version"])
                accepted = True
            except ApiError as exc:
                assert exc.status in (403, 409), exc
                accepted = False
            assert offered == accepted, f"{who} on a {case} order, field {name}: offered {offered}, server {accepted}"
    finally:
        await api.close()


@pytest.mark.parametrize("who", ["manager", "technician", "requester"])
async def test_every_role_reads_the_directory_of_people(server: Server, who: str) -> None:
    api = await client(server, who)
    try:
        people = {p["name"]: p for p in await api.people()}
    finally:
        await api.close()
    assert {name for _, name in USERS.values()} <= set(people)
    assert all(("email" in p) == (who != "requester") for p in people.values())
