"""Purchase orders on the real PostgreSQL: the workflow, partial receipts posting receive moves at
each line's unit cost (and moving the average), over-receipt and other bad input refused with the
ledger unchanged, cancellation only before anything arrived, roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.stock_support import levels, part, snapshot, store
from tests.integration.support import Tenant, assert_problem, ok, unique


@pytest.fixture(scope="module")
async def supply(tenant: Tenant) -> dict[str, Any]:
    place = await store(tenant)
    vendor = ok(
        await tenant["admin"].post("/api/v1/vendors", {"name": unique("SKF"), "email": "orders@example.com"}), 201
    )
    return {**place, "vendor": vendor}


async def draft(tenant: Tenant, supply: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = {
        "vendor_id": supply["vendor"]["id"],
        "location_id": supply["main"]["id"],
        "reference": "PO-1",
        "lines": lines,
    }
    return ok(await tenant["manager"].post("/api/v1/purchase-orders", body), 201)


async def test_partial_receipts_to_received(tenant: Tenant, supply: dict[str, Any]) -> None:
    manager = tenant["manager"]
    bearing, belt = await part(manager), await part(manager, name="V-belt SPA 1250")
    po = await draft(
        tenant,
        supply,
        [
            {"part_id": bearing["id"], "qty": "10", "unit_cost": "4.00"},
            {"part_id": belt["id"], "qty": "2.5", "unit_cost": "12.10"},
        ],
    )
    assert po["status"] == "draft" and po["total"] == "70.25"
    first, second = po["lines"]
    base = f"/api/v1/purchase-orders/{po['id']}"
    receipt = {"lines": [{"line_id": first["id"], "qty": "4"}]}
    assert_problem(await manager.post(f"{base}/receive", receipt), 409, field="status")  # a draft receives nothing
    po = ok(await manager.post(f"{base}/transition", {"to": "ordered"}, headers={"If-Match": f'"{po["version"]}"'}))
    assert po["status"] == "ordered" and po["ordered_at"]
    po = ok(await manager.post(f"{base}/receive", receipt))
    assert po["status"] == "partially_received" and po["lines"][0]["received_qty"] == "4"
    po = ok(await manager.post(f"{base}/receive", {"lines": [{"line_id": first["id"], "qty": "3"}]}))
    assert po["status"] == "partially_received" and po["lines"][0]["received_qty"] == "7"
    assert_problem(await manager.post(f"{base}/transition", {"to": "cancelled"}), 409, field="to")
    before = await snapshot(tenant)
    over = {"lines": [{"line_id": first["id"], "qty": "2"}, {"line_id": first["id"], "qty": "2"}]}
    assert_problem(await manager.post(f"{base}/receive", over), 409, field="lines.1.qty")
    assert_problem(
        await manager.post(f"{base}/receive", {"lines": [{"line_id": 999_999, "qty": "1"}]}), 422, "lines.0.line_id"
    )
    assert await snapshot(tenant) == before
    done = {"lines": [{"line_id": first["id"], "qty": "3"}, {"line_id": second["id"], "qty": "2.5"}]}
    po = ok(await manager.post(f"{base}/receive", done))
    assert po["status"] == "received" and po["received_at"]
    assert (await levels(tenant, bearing["id"]))[supply["main"]["id"]]["on_hand"] == 10
    moves = ok(await manager.get("/api/v1/stock/moves", params={"part_id": bearing["id"]}))["items"]
    assert [(m["kind"], m["qty"], m["unit_cost"], m["purchase_order_id"]) for m in moves] == [
        ("receive", "3", "4.0000", po["id"]),
        ("receive", "3", "4.0000", po["id"]),
        ("receive", "4", "4.0000", po["id"]),
    ]
    assert ok(await manager.get(f"/api/v1/parts/{belt['id']}/stock"))["average_cost"] == "12.1000"
    assert_problem(await manager.post(f"{base}/receive", {"lines": [{"line_id": second["id"], "qty": "0.001"}]}), 409)


async def test_cancelled_orders_receive_nothing(tenant: Tenant, supply: dict[str, Any]) -> None:
    manager = tenant["manager"]
    p = await part(manager)
    po = await draft(tenant, supply, [{"part_id": p["id"], "qty": "1", "unit_cost": "1.00"}])
    base = f"/api/v1/purchase-orders/{po['id']}"
    ok(await manager.post(f"{base}/transition", {"to": "ordered"}))
    assert ok(await manager.post(f"{base}/transition", {"to": "cancelled"}))["status"] == "cancelled"
    before = await snapshot(tenant)
    reply = await manager.post(f"{base}/receive", {"lines": [{"line_id": po["lines"][0]["id"], "qty": "1"}]})
    assert_problem(reply, 409, field="status")
    assert_problem(await manager.post(f"{base}/transition", {"to": "ordered"}), 409, field="to")
    assert await snapshot(tenant) == before
    listed = ok(await manager.get("/api/v1/purchase-orders", params={"status": "cancelled"}))["items"]
    assert po["id"] in [x["id"] for x in listed]


async def test_bad_purchase_orders(tenant: Tenant, other: Tenant, supply: dict[str, Any]) -> None:
    manager = tenant["manager"]
    p = await part(manager)
    their_vendor = ok(await other["admin"].post("/api/v1/vendors", {"name": unique("theirs")}), 201)
    line = {"part_id": p["id"], "qty": "1", "unit_cost": "1.00"}
    base = {"vendor_id": supply["vendor"]["id"], "location_id": supply["main"]["id"], "lines": [line]}
    bad = [
        ({**base, "lines": []}, "lines"),
        ({**base, "vendor_id": their_vendor["id"]}, "vendor_id"),
        ({**base, "location_id": 999_999_999}, "location_id"),
        ({**base, "lines": [{**line, "part_id": 999_999_999}]}, "lines.0.part_id"),
        ({**base, "lines": [{**line, "qty": "0"}]}, "lines.0.qty"),
        ({**base, "lines": [{**line, "qty": "1.5555"}]}, "lines.0.qty"),
        ({**base, "lines": [{**line, "unit_cost": "1.001"}]}, "lines.0.unit_cost"),
        ({**base, "lines": [{**line, "unit_cost": 1}]}, "lines.0.unit_cost"),
    ]
    count = await tenant.sql("SELECT count(*) AS n FROM purchase_orders")
    for body, field in bad:
        assert_problem(await manager.post("/api/v1/purchase-orders", body), 422, field=field)
    assert await tenant.sql("SELECT count(*) AS n FROM purchase_orders") == count
    po = await draft(tenant, supply, [line])
    for key in ("technician", "requester"):
        assert_problem(await tenant[key].post("/api/v1/purchase-orders", base), 403)
        assert_problem(await tenant[key].post(f"/api/v1/purchase-orders/{po['id']}/transition", {"to": "ordered"}), 403)
    ok(await tenant["technician"].get(f"/api/v1/purchase-orders/{po['id']}"))
    assert_problem(await tenant["requester"].get(f"/api/v1/purchase-orders/{po['id']}"), 403)
    assert_problem(await other["admin"].get(f"/api/v1/purchase-orders/{po['id']}"), 404)
