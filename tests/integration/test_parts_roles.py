"""Who may call every inventory route, built from the route tables: a route added later without a
line here fails `test_every_inventory_route_has_expectations`. Refused calls change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from cmms.api.routes import order_parts, parts, purchasing, stock
from tests.integration.stock_support import part, receive, snapshot, store
from tests.integration.support import Tenant, ok, unique
from tests.integration.work_support import order

ROUTES = sorted({(r.method, r.path) for t in (parts, stock, order_parts, purchasing) for r in t.routes.routes})
READ, WRITE = "read", "write"
# What each route is for: staff read; supervisors keep the catalog, purchasing, receipts and counts;
# the assigned technician (or a supervisor) handles an order's parts.
KIND: dict[tuple[str, str], str] = {
    route: (READ if route[0] == "GET" else WRITE) for route in ROUTES if not route[1].startswith("/api/v1/orders/")
}
ORDER_ROUTES = [route for route in ROUTES if route[1].startswith("/api/v1/orders/")]


def test_every_inventory_route_has_expectations() -> None:
    assert len(ROUTES) >= 25
    assert set(KIND) | set(ORDER_ROUTES) == set(ROUTES)


@pytest.fixture(scope="module")
async def things(tenant: Tenant) -> dict[str, Any]:
    admin = tenant["admin"]
    place = await store(tenant)
    p = await part(admin)
    await receive(admin, p["id"], place["main"]["id"], "50")
    vendor = ok(await admin.post("/api/v1/vendors", {"name": unique("vendor")}), 201)
    lines = [{"part_id": p["id"], "qty": "5", "unit_cost": "1.00"}]
    po = ok(await admin.post("/api/v1/purchase-orders", {"vendor_id": vendor["id"], "location_id": place["main"]["id"],
                                                         "lines": lines}), 201)  # fmt: skip
    wo = await order(tenant)  # assigned to "technician"
    body = {"part_id": p["id"], "location_id": place["main"]["id"], "qty": "1"}
    line = ok(await admin.post(f"/api/v1/orders/{wo['id']}/parts", body), 201)
    await tenant.add_user("technician2", "technician")
    return {"place": place, "part": p, "vendor": vendor, "po": po, "order": wo, "line": line}


def _call(things: dict[str, Any], method: str, path: str) -> tuple[str, Any]:
    """The URL with real ids and a valid body, so that a refusal is about the caller only."""
    p, place, po = things["part"], things["place"], things["po"]
    ids = {
        "/api/v1/parts/": p["id"],
        "/api/v1/stock-locations/": place["bin"]["id"],
        "/api/v1/vendors/": things["vendor"]["id"],
        "/api/v1/purchase-orders/": po["id"],
        "/api/v1/orders/": things["order"]["id"],
    }
    prefix = next((k for k in ids if path.startswith(k)), None)
    url = path.replace("{id}", str(ids[prefix])) if prefix else path
    url = url.replace("{line_id}", str(things["line"]["id"]))
    bodies: dict[str, Any] = {
        "/api/v1/parts": {"number": unique("R"), "name": "x"},
        "/api/v1/stock-locations": {"name": unique("loc")},
        "/api/v1/vendors": {"name": unique("v")},
        "/api/v1/stock/moves": {
            "part_id": p["id"],
            "location_id": place["main"]["id"],
            "kind": "receive",
            "qty": "1",
            "unit_cost": "1.00",
        },
        "/api/v1/purchase-orders": {
            "vendor_id": things["vendor"]["id"],
            "location_id": place["main"]["id"],
            "lines": [{"part_id": p["id"], "qty": "1", "unit_cost": "1.00"}],
        },
        "/api/v1/purchase-orders/{id}/transition": {"to": "ordered"},
        "/api/v1/purchase-orders/{id}/receive": {"lines": [{"line_id": po["lines"][0]["id"], "qty": "1"}]},
        "/api/v1/orders/{id}/parts": {"part_id": p["id"], "location_id": place["main"]["id"], "qty": "1"},
    }
    if method == "PATCH":
        return url, {"name": "renamed"}
    return url, bodies.get(path) if method == "POST" else None


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_role_matrix(tenant: Tenant, things: dict[str, Any], method: str, path: str) -> None:
    url, body = _call(things, method, path)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    before = await snapshot(tenant)
    if (method, path) in ORDER_ROUTES:
        expected = {"requester": 404, "technician2": 403 if method != "GET" else 200}
    elif KIND[(method, path)] == READ:
        expected = {"requester": 403}
    else:
        expected = {"requester": 403, "technician": 403}
    for who, status in expected.items():
        reply = await tenant[who].request(method, url, **kwargs)
        assert reply.status == status, (who, reply)
    assert await snapshot(tenant) == before
    if (method, path) not in ORDER_ROUTES and KIND[(method, path)] == READ:
        ok(await tenant["technician"].request(method, url))
