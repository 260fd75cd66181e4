"""Parts on work orders through the order's life: reserve, issue at the average of the moment (kept
however the average moves later), release, return, cancellation releasing reservations, completed
orders keeping their lines, the order's cost summary, roles and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.stock_support import move, part, receive, snapshot, store
from tests.integration.support import Tenant, assert_problem, ok
from tests.integration.work_support import order, to_in_progress


@pytest.fixture(scope="module")
async def place(tenant: Tenant) -> dict[str, Any]:
    return await store(tenant)


async def stock_at(tenant: Tenant, part_id: int, location_id: int) -> dict[str, Any]:
    stock = ok(await tenant["admin"].get(f"/api/v1/parts/{part_id}/stock"))
    return next(lv for lv in stock["locations"] if lv["location_id"] == location_id)


async def plan(tenant: Tenant, order_id: int, part_id: int, location_id: int, qty: str) -> dict[str, Any]:
    body = {"part_id": part_id, "location_id": location_id, "qty": qty}
    return ok(await tenant["technician"].post(f"/api/v1/orders/{order_id}/parts", body), 201)


async def test_reserve_issue_and_the_cost_that_stays(tenant: Tenant, place: dict[str, Any]) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    main = place["main"]["id"]
    p = await part(admin)
    await receive(admin, p["id"], main, "10", "2.00")
    wo = await order(tenant)
    line = await plan(tenant, wo["id"], p["id"], main, "4")
    assert line["status"] == "reserved" and line["cost"] is None
    level = await stock_at(tenant, p["id"], main)
    assert (level["on_hand"], level["reserved"], level["available"]) == ("10", "4", "6")
    # what is reserved cannot be taken by someone else
    assert_problem(await move(tech, p["id"], main, "issue", "7"), 409, field="qty")
    await receive(admin, p["id"], main, "10", "4.00")  # average (10x2 + 10x4) / 20 = 3
    issued = ok(await tech.post(f"/api/v1/orders/{wo['id']}/parts/{line['id']}/issue"))
    assert (issued["status"], issued["unit_cost"], issued["cost"]) == ("issued", "3.0000", "12.00")
    level = await stock_at(tenant, p["id"], main)
    assert (level["on_hand"], level["reserved"], level["available"]) == ("16", "0", "16")
    moves = ok(await admin.get("/api/v1/stock/moves", params={"order_id": wo["id"]}))["items"]
    assert [(m["kind"], m["qty"], m["unit_cost"], m["order_part_id"]) for m in moves] == [
        ("issue", "4", "3.0000", line["id"])
    ]
    await receive(admin, p["id"], main, "16", "9.00")  # the average moves; the order's cost does not
    assert ok(await admin.get(f"/api/v1/orders/{wo['id']}/cost"))["parts"] == "12.00"
    again = await tech.post(f"/api/v1/orders/{wo['id']}/parts/{line['id']}/issue")
    assert_problem(again, 409, field="status")


async def test_remove_releases_or_returns(tenant: Tenant, place: dict[str, Any]) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    main = place["main"]["id"]
    p = await part(admin)
    await receive(admin, p["id"], main, "5", "10.00")
    wo = await order(tenant)
    reserved = await plan(tenant, wo["id"], p["id"], main, "2")
    issued = await plan(tenant, wo["id"], p["id"], main, "1.5")
    ok(await tech.post(f"/api/v1/orders/{wo['id']}/parts/{issued['id']}/issue"))
    assert ok(await admin.get(f"/api/v1/orders/{wo['id']}/cost"))["parts"] == "15.00"
    ok(await tech.delete(f"/api/v1/orders/{wo['id']}/parts/{reserved['id']}"), 204)
    ok(await tech.delete(f"/api/v1/orders/{wo['id']}/parts/{issued['id']}"), 204)
    level = await stock_at(tenant, p["id"], main)
    assert (level["on_hand"], level["reserved"]) == ("5", "0")
    lines = ok(await tech.get(f"/api/v1/orders/{wo['id']}/parts"))["items"]
    assert {line["id"]: line["status"] for line in lines} == {reserved["id"]: "released", issued["id"]: "returned"}
    kinds = [m["kind"] for m in ok(await admin.get("/api/v1/stock/moves", params={"order_id": wo["id"]}))["items"]]
    assert kinds == ["return", "issue"]
    assert ok(await admin.get(f"/api/v1/orders/{wo['id']}/cost"))["parts"] == "0.00"
    assert_problem(await tech.delete(f"/api/v1/orders/{wo['id']}/parts/{issued['id']}"), 404, field="line_id")


async def test_cancelling_an_order_releases_its_reservations(tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin)
    await receive(admin, p["id"], main, "5")
    await receive(admin, p["id"], bin_, "5")
    wo = await order(tenant)
    await plan(tenant, wo["id"], p["id"], main, "3")
    await plan(tenant, wo["id"], p["id"], bin_, "2")
    assert (await stock_at(tenant, p["id"], main))["available"] == "2"
    ok(await admin.post(f"/api/v1/orders/{wo['id']}/transition", {"to": "cancelled"}))
    for loc in (main, bin_):
        level = await stock_at(tenant, p["id"], loc)
        assert (level["reserved"], level["available"]) == ("0", "5")
    lines = ok(await admin.get(f"/api/v1/orders/{wo['id']}/parts"))["items"]
    assert {line["status"] for line in lines} == {"released"}
    body = {"part_id": p["id"], "location_id": main, "qty": "1"}
    assert_problem(await admin.post(f"/api/v1/orders/{wo['id']}/parts", body), 409, field="status")


async def test_a_completed_order_keeps_its_lines(tenant: Tenant, place: dict[str, Any]) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    main = place["main"]["id"]
    p = await part(admin)
    await receive(admin, p["id"], main, "5", "1.00")
    wo = await order(tenant)
    line = await plan(tenant, wo["id"], p["id"], main, "1")
    ok(await tech.post(f"/api/v1/orders/{wo['id']}/parts/{line['id']}/issue"))
    await to_in_progress(tenant, wo["id"])
    ok(await tech.post(f"/api/v1/orders/{wo['id']}/transition", {"to": "completed"}))
    before = await snapshot(tenant)
    assert_problem(await tech.delete(f"/api/v1/orders/{wo['id']}/parts/{line['id']}"), 409, field="status")
    assert await snapshot(tenant) == before
    assert ok(await admin.get(f"/api/v1/orders/{wo['id']}/cost"))["parts"] == "1.00"


async def test_roles_and_bad_input(tenant: Tenant, other: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    main = place["main"]["id"]
    p = await part(admin)
    await receive(admin, p["id"], main, "3")
    wo = await order(tenant)
    await tenant.add_user("technician2", "technician")
    body = {"part_id": p["id"], "location_id": main, "qty": "1"}
    before = await snapshot(tenant)
    assert_problem(await tenant["technician2"].post(f"/api/v1/orders/{wo['id']}/parts", body), 403)
    assert_problem(await tenant["requester"].post(f"/api/v1/orders/{wo['id']}/parts", body), 404)
    assert_problem(await other["admin"].post(f"/api/v1/orders/{wo['id']}/parts", body), 404)
    their = await part(other["admin"])
    bad = [
        ({**body, "qty": "0"}, 422, "qty"),
        ({**body, "qty": "-1"}, 422, "qty"),
        ({**body, "qty": "1.2345"}, 422, "qty"),
        ({**body, "qty": "4"}, 409, "qty"),
        ({**body, "part_id": their["id"]}, 422, "part_id"),
        ({**body, "location_id": 999_999_999}, 422, "location_id"),
        ({"part_id": p["id"], "qty": "1"}, 422, "location_id"),
    ]
    for payload, status, field in bad:
        assert_problem(await admin.post(f"/api/v1/orders/{wo['id']}/parts", payload), status, field=field)
    assert_problem(await admin.post(f"/api/v1/orders/{wo['id']}/parts/999999999/issue"), 404, field="line_id")
    assert await snapshot(tenant) == before
