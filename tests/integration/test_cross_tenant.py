"""Tenant B's admin aims every id-taking route at tenant A's records: always 404, nothing changes.

The routes come from the application's own route tables, so a route added later is covered
without editing this file (a new resource family needs one line in RESOURCE below).
"""

from __future__ import annotations

from typing import Any

import pytest

from cmms.api.routes import ALL_TABLES
from cmms.services import events, webhook_delivery
from tests.integration.attachments_support import multipart
from tests.integration.support import Tenant, assert_problem, ok, unique

ID_ROUTES = sorted({(r.method, r.path) for t in ALL_TABLES for r in t.routes if "{id}" in r.path})
# The family of the record a route's {id} names, from the path's first segment.
RESOURCE = {
    "webhooks": "webhook",
    "plants": "plant",
    "users": "user",
    "assets": "asset",
    "orders": "order",
    "plans": "plan",
    "alerts": "alert",
    "jobs": "job",
    "procedures": "procedure",
    "parts": "part",
    "stock-locations": "stock_location",
    "vendors": "vendor",
    "purchase-orders": "purchase_order",
    "api-keys": "api_key",
    "files": "file",
}
# Valid bodies, so that a 404 cannot be a validation error in disguise.
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/webhooks/{id}"): {"description": "taken over"},
    ("PATCH", "/api/v1/plants/{id}"): {"name": "taken over"},
    ("PATCH", "/api/v1/users/{id}"): {"name": "taken over"},
    ("PATCH", "/api/v1/assets/{id}"): {"name": "taken over"},
    ("POST", "/api/v1/assets/{id}/readings"): {"readings": [{"meter": "hours", "value": 1}]},
    ("PATCH", "/api/v1/orders/{id}"): {"title": "taken over"},
    ("POST", "/api/v1/orders/{id}/transition"): {"to": "cancelled"},
    ("POST", "/api/v1/orders/{id}/notes"): {"body": "taken over"},
    ("PATCH", "/api/v1/plans/{id}"): {"title": "taken over"},
    ("PATCH", "/api/v1/procedures/{id}"): {"name": "taken over"},
    ("POST", "/api/v1/orders/{id}/checklist"): {"procedure_id": 1},
    ("PATCH", "/api/v1/orders/{id}/checklist/items/{item_id}"): {"value": True},
    ("POST", "/api/v1/orders/{id}/timer/start"): {"category": "normal"},
    ("POST", "/api/v1/orders/{id}/time"): {"minutes": 30},
    ("POST", "/api/v1/orders/{id}/costs"): {"category": "other", "amount": "1.00"},
    ("PATCH", "/api/v1/parts/{id}"): {"name": "taken over"},
    ("POST", "/api/v1/orders/{id}/parts"): {"part_id": 1, "location_id": 1, "qty": "1"},
    ("POST", "/api/v1/purchase-orders/{id}/transition"): {"to": "ordered"},
    ("POST", "/api/v1/purchase-orders/{id}/receive"): {"lines": [{"line_id": 1, "qty": "1"}]},
    ("PATCH", "/api/v1/stock-locations/{id}"): {"name": "taken over"},
    ("PATCH", "/api/v1/vendors/{id}"): {"name": "taken over"},
}
READ_BACK = {
    "webhook": "/api/v1/webhooks/{}",
    "plant": "/api/v1/plants/{}",
    "user": "/api/v1/users/{}",
    "asset": "/api/v1/assets/{}",
    "order": "/api/v1/orders/{}",
    "plan": "/api/v1/plans/{}",
    "alert": "/api/v1/alerts/{}",
    "job": "/api/v1/jobs/{}",
    "procedure": "/api/v1/procedures/{}",
    "part": "/api/v1/parts/{}",
    "stock_location": "/api/v1/stock-locations/{}",
    "vendor": "/api/v1/vendors/{}",
    "purchase_order": "/api/v1/purchase-orders/{}",
    "api_key": "/api/v1/api-keys/{}",
    "file": "/api/v1/files/{}/info",
}


def family(path: str) -> str:
    return RESOURCE[path.removeprefix("/api/v1/").split("/")[0]]


def test_every_id_route_is_in_the_matrix() -> None:
    assert ID_ROUTES, "the app has routes with {id}"
    for method, path in ID_ROUTES:
        assert path.startswith("/api/v1/"), path
        assert family(path) in READ_BACK, f"{method} {path}: add its family to RESOURCE"
        takes_body = method in ("PATCH", "PUT") or (
            method == "POST" and path.endswith(("/transition", "/notes", "/readings"))
        )
        if takes_body:
            assert (method, path) in BODIES, f"{method} {path}: add a valid body to BODIES"


@pytest.fixture(scope="module")
async def a_records(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Tenant A's records, one per family."""
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("a-plant")}), 201)
    asset = ok(
        await admin.post("/api/v1/assets", {"name": "A pump", "plant_id": plant["id"], "meters": [{"name": "hours"}]}),
        201,
    )
    order = ok(
        await admin.post(
            "/api/v1/orders",
            {"title": "A order", "asset_id": asset["id"], "assignee_id": tenant["technician"].user_id},
        ),
        201,
    )
    ok(await admin.post(f"/api/v1/orders/{order['id']}/notes", {"body": "A note"}), 201)
    plan = ok(await admin.post("/api/v1/plans", {"asset_id": asset["id"], "title": "A plan", "interval_days": 7}), 201)
    alert = ok(await admin.post("/api/v1/alerts", {"kind": "k", "message": "A alert", "asset_id": asset["id"]}), 201)
    ok(await admin.post(f"/api/v1/assets/{asset['id']}/readings", [{"meter": "hours", "value": 5}]), 201)
    user = tenant.users["technician"]
    job = ok(await admin.post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "assets"}}), 202)
    items = [{"label": "A check", "type": "checkbox"}]
    procedure = ok(await admin.post("/api/v1/procedures", {"name": "A procedure", "items": items}), 201)
    checklist = ok(await admin.post(f"/api/v1/orders/{order['id']}/checklist", {"procedure_id": procedure["id"]}), 201)
    entry = ok(await admin.post(f"/api/v1/orders/{order['id']}/time", {"minutes": 30}), 201)
    cost = ok(await admin.post(f"/api/v1/orders/{order['id']}/costs", {"category": "other", "amount": "1.00"}), 201)
    api_key = ok(await admin.post("/api/v1/api-keys", {"name": "A key", "role": "technician"}), 201)
    body, headers = multipart(b"A's photo", "a.txt")
    file = ok(await admin.request("POST", f"/api/v1/orders/{order['id']}/attachments", data=body, headers=headers), 201)
    # the other ids of nested routes, also A's
    inventory = await inventory_records(admin, order["id"])
    sub = {
        "item_id": checklist["items"][0]["id"],
        "entry_id": entry["id"],
        "cost_id": cost["id"],
        "line_id": inventory.pop("line")["id"],
    }
    webhook, sub["delivery_id"] = await webhook_with_delivery(tenant)
    return {
        "webhook": webhook,
        "plant": plant,
        "asset": asset,
        "order": order,
        "plan": plan,
        "alert": alert,
        "user": user,
        "job": job,
        "procedure": procedure,
        "api_key": api_key,
        "file": file,
        **inventory,
        "sub": sub,
    }


async def inventory_records(admin: Any, order_id: int) -> dict[str, dict[str, Any]]:
    part = ok(await admin.post("/api/v1/parts", {"number": unique("A-P"), "name": "A part"}), 201)
    location = ok(await admin.post("/api/v1/stock-locations", {"name": unique("A-store")}), 201)
    vendor = ok(await admin.post("/api/v1/vendors", {"name": unique("A-vendor")}), 201)
    move = {"part_id": part["id"], "location_id": location["id"], "kind": "receive", "qty": "5", "unit_cost": "1.00"}
    ok(await admin.post("/api/v1/stock/moves", move), 201)
    line = {"part_id": part["id"], "location_id": location["id"], "qty": "1"}
    line = ok(await admin.post(f"/api/v1/orders/{order_id}/parts", line), 201)
    lines = [{"part_id": part["id"], "qty": "2", "unit_cost": "1.00"}]
    po = {"vendor_id": vendor["id"], "location_id": location["id"], "lines": lines}
    po = ok(await admin.post("/api/v1/purchase-orders", po), 201)
    return {"part": part, "stock_location": location, "vendor": vendor, "purchase_order": po, "line": line}


async def webhook_with_delivery(tenant: Tenant) -> tuple[dict[str, Any], int]:
    """A webhook of A with one delivery, made as the relay makes them (no relay runs here)."""
    admin = tenant["admin"]
    hook = ok(await admin.post("/api/v1/webhooks", {"url": "https://hooks.example.com/a", "events": ["*"]}), 201)
    ok(await admin.post("/api/v1/plants", {"name": unique("a-hooked")}), 201)
    for row in await events.batch(tenant.rt.deps, tenant.id, 0, 1000):
        await webhook_delivery.intake(tenant.rt.deps, row)
    [delivery, *_] = ok(await admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries"))["items"]
    return hook, int(delivery["id"])


async def _snapshot(tenant: Tenant, kind: str, id_: int) -> dict[str, Any]:
    return ok(await tenant["admin"].get(READ_BACK[kind].format(id_)))


@pytest.mark.parametrize(("method", "path"), ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
async def test_other_tenants_ids_are_404(
    tenant: Tenant, other: Tenant, a_records: dict[str, dict[str, Any]], method: str, path: str
) -> None:
    kind = family(path)
    target = a_records[kind]["id"]
    url = path.replace("{id}", str(target))
    for name, value in a_records["sub"].items():
        url = url.replace("{" + name + "}", str(value))
    if method == "GET" and not path.endswith(("/result", "/files/{id}")):  # a queued job has no result yet
        ok(await tenant["admin"].get(url))  # A reads it first: a cache must not hand it to B
    before = await _snapshot(tenant, kind, target)
    body = BODIES.get((method, path))
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    reply = await other["admin"].request(method, url, **kwargs)
    assert_problem(reply, 404)
    assert await _snapshot(tenant, kind, target) == before


async def test_lists_do_not_leak_across_tenants(
    tenant: Tenant, other: Tenant, a_records: dict[str, dict[str, Any]]
) -> None:
    lists = {
        "/api/v1/plants": "plant",
        "/api/v1/assets": "asset",
        "/api/v1/orders": "order",
        "/api/v1/plans": "plan",
        "/api/v1/alerts": "alert",
        "/api/v1/users": "user",
    }
    for path, kind in lists.items():
        params = {"limit": 200}
        mine = ok(await tenant["admin"].get(path, params=params))  # warm any cache with A's page first
        assert a_records[kind]["id"] in {x["id"] for x in mine["items"]}, path
        theirs = ok(await other["admin"].get(path, params=params))
        assert a_records[kind]["id"] not in {x["id"] for x in theirs["items"]}, path
    # Filters naming A's records find nothing in B.
    asset_id = a_records["asset"]["id"]
    for path, params in [
        ("/api/v1/orders", {"asset_id": asset_id}),
        ("/api/v1/orders", {"plant_id": a_records["plant"]["id"]}),
        ("/api/v1/orders", {"assignee_id": a_records["order"]["assignee_id"]}),
        ("/api/v1/assets", {"plant_id": a_records["plant"]["id"]}),
        ("/api/v1/plans", {"asset_id": asset_id}),
        ("/api/v1/alerts", {"asset_id": asset_id}),
        ("/api/v1/audit", {"entity": "order", "entity_id": a_records["order"]["id"]}),
    ]:
        ok(await tenant["admin"].get(path, params=params))
        assert ok(await other["admin"].get(path, params=params))["items"] == [], (path, params)


async def test_audit_and_events_stay_in_the_tenant(
    tenant: Tenant, other: Tenant, a_records: dict[str, dict[str, Any]]
) -> None:
    theirs = ok(await other["admin"].get("/api/v1/audit", params={"limit": 200}))["items"]
    a_ids = {
        ("order", a_records["order"]["id"]),
        ("plant", a_records["plant"]["id"]),
        ("asset", a_records["asset"]["id"]),
    }
    assert not {(e["entity"], e["entity_id"]) for e in theirs} & a_ids
    events = ok(await other["admin"].get("/api/v1/events", params={"after": 0}))["items"]
    assert all(e["tenant_id"] == other.id for e in events)
    mine = ok(await tenant["admin"].get("/api/v1/events", params={"after": 0}))["items"]
    assert mine and all(e["tenant_id"] == tenant.id for e in mine)


async def test_references_to_another_tenants_records_are_refused(
    tenant: Tenant, other: Tenant, a_records: dict[str, dict[str, Any]]
) -> None:
    b = other["admin"]
    b_plant = ok(await b.post("/api/v1/plants", {"name": unique("b-plant")}), 201)
    b_asset = ok(await b.post("/api/v1/assets", {"name": "B pump", "plant_id": b_plant["id"]}), 201)
    b_order = ok(await b.post("/api/v1/orders", {"title": "B order"}), 201)
    a = a_records
    refused = [
        ("POST", "/api/v1/assets", {"name": "x", "plant_id": a["plant"]["id"]}, "plant_id"),
        (
            "POST",
            "/api/v1/assets",
            {"name": "x", "plant_id": b_plant["id"], "parent_id": a["asset"]["id"]},
            "parent_id",
        ),
        ("PATCH", f"/api/v1/assets/{b_asset['id']}", {"parent_id": a["asset"]["id"]}, "parent_id"),
        ("POST", "/api/v1/orders", {"title": "x", "asset_id": a["asset"]["id"]}, "asset_id"),
        ("POST", "/api/v1/orders", {"title": "x", "plant_id": a["plant"]["id"]}, "plant_id"),
        ("POST", "/api/v1/orders", {"title": "x", "assignee_id": a["user"]["id"]}, "assignee_id"),
        ("PATCH", f"/api/v1/orders/{b_order['id']}", {"assignee_id": a["user"]["id"]}, "assignee_id"),
        ("PATCH", f"/api/v1/orders/{b_order['id']}", {"asset_id": a["asset"]["id"]}, "asset_id"),
        ("POST", "/api/v1/plans", {"asset_id": a["asset"]["id"], "title": "x", "interval_days": 7}, "asset_id"),
        ("POST", "/api/v1/alerts", {"kind": "k", "message": "m", "asset_id": a["asset"]["id"]}, "asset_id"),
    ]
    for method, path, body, field in refused:
        reply = await b.request(method, path, json=body)
        assert reply.status in (404, 422), (method, path, reply)
        assert_problem(reply, reply.status, field=field if reply.status == 422 else None)
    assert ok(await b.get(f"/api/v1/orders/{b_order['id']}")) == b_order
