"""The stock ledger on the real PostgreSQL: moves and levels, the moving average on hand-computed
receipts, transfers and counts, events and audit rows, and every bad input of the issue refused
with a problem naming the field while the ledger stays as it was."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.integration.stock_support import levels, move, part, receive, snapshot, store
from tests.integration.support import Tenant, assert_problem, ok


@pytest.fixture(scope="module")
async def place(tenant: Tenant) -> dict[str, Any]:
    return await store(tenant)


async def test_receipts_move_the_average_and_issues_keep_it(tenant: Tenant, place: dict[str, Any]) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin, unit="pcs")
    # 10 @ 2.00, then 30 @ 4.00: (10x2 + 30x4) / 40 = 3.5
    await receive(admin, p["id"], main, "10", "2.00")
    first = ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))
    assert first["average_cost"] == "2.0000"
    await receive(admin, p["id"], bin_, "30", "4.00")
    assert ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))["average_cost"] == "3.5000"
    issued = ok(await move(tech, p["id"], main, "issue", "4"), 201)
    assert issued["unit_cost"] == "3.5000" and issued["qty"] == "4"
    # 36 left at 3.5; 4 more @ 1.25: (36x3.5 + 4x1.25) / 40 = 131/40 = 3.275
    await receive(admin, p["id"], main, "4", "1.25")
    stock = ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))
    assert stock["average_cost"] == "3.2750"
    assert stock["on_hand"] == "40" and stock["available"] == "40"
    by_location = {lv["location_id"]: lv for lv in stock["locations"]}
    assert by_location[main]["on_hand"] == "10" and by_location[bin_]["on_hand"] == "30"
    # a third of a unit: (40 x 3.275 + 3 x 1) / 43 = 134/43 = 3.11627... -> 3.1163 (half-up, 4 places)
    await receive(admin, p["id"], main, "3", "1.00")
    assert ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))["average_cost"] == "3.1163"


async def test_transfers_and_adjustments(tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin, unit="l")
    await receive(admin, p["id"], main, "20.5", "3.00")
    ok(await move(admin, p["id"], main, "transfer", "7.25", to_location_id=bin_), 201)
    ok(await move(admin, p["id"], bin_, "adjust", "-0.25", note="spilt"), 201)
    ok(await move(admin, p["id"], main, "adjust", "1", note="found a can"), 201)
    lv = await levels(tenant, p["id"])
    assert lv[main]["on_hand"] == Decimal("14.25") and lv[bin_]["on_hand"] == Decimal("7")
    # counts and transfers do not move the average
    assert ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))["average_cost"] == "3.0000"
    moves = ok(await admin.get("/api/v1/stock/moves", params={"part_id": p["id"]}))["items"]
    assert [m["kind"] for m in moves] == ["adjust", "adjust", "transfer", "receive"]
    at_bin = ok(await admin.get("/api/v1/stock/moves", params={"part_id": p["id"], "location_id": bin_}))["items"]
    assert [m["kind"] for m in at_bin] == ["adjust", "transfer"]


async def test_every_move_is_audited_and_announced(tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin)
    after = ok(await admin.get("/api/v1/me"))["last_seq"]
    await receive(admin, p["id"], main, "5")
    ok(await move(admin, p["id"], main, "transfer", "2", to_location_id=bin_), 201)
    audit = await tenant.sql(
        "SELECT action, changes FROM audit_log WHERE entity = 'part' AND entity_id = %s ORDER BY id", (p["id"],)
    )
    assert [a["action"] for a in audit] == ["create", "stock_receive", "stock_transfer"]
    events = ok(await tenant["technician"].get("/api/v1/events", params={"after": after}))["items"]
    changed = [e["data"] for e in events if e["type"] == "stock:changed" and e["data"]["part_id"] == p["id"]]
    assert [(c["location_id"], c["on_hand"], c["available"]) for c in changed] == [
        (main, "5", "5"),
        (main, "3", "3"),
        (bin_, "2", "2"),
    ]
    assert all(set(c) >= {"part_id", "location_id", "on_hand", "reserved", "available"} for c in changed)
    assert ok(await tenant["requester"].get("/api/v1/events", params={"after": after}))["items"] == []


async def test_part_crud_and_events(tenant: Tenant) -> None:
    admin = tenant["manager"]
    after = ok(await admin.get("/api/v1/me"))["last_seq"]
    p = await part(admin, min_qty="2", reorder_qty="10", barcode="4006381333931")
    assert p["min_qty"] == "2" and p["reorder_qty"] == "10" and p["average_cost"] == "0.0000"
    reply = await admin.patch(f"/api/v1/parts/{p['id']}", {"name": "Bearing 6205-2RS"}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["version"] == 2 and reply.headers["ETag"] == '"2"'
    stale = await admin.patch(f"/api/v1/parts/{p['id']}", {"name": "x"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    found = ok(await admin.get("/api/v1/parts", params={"barcode": "4006381333931"}))["items"]
    assert [f["id"] for f in found] == [p["id"]]
    events = ok(await admin.get("/api/v1/events", params={"after": after}))["items"]
    assert [e["type"] for e in events if e["data"].get("id") == p["id"]] == ["part:created", "part:updated"]
    ok(await admin.delete(f"/api/v1/parts/{p['id']}"), 204)
    assert_problem(await admin.get(f"/api/v1/parts/{p['id']}"), 404)


BAD_MOVES: list[tuple[dict[str, Any], int, str]] = [
    ({"qty": "0"}, 422, "qty"),
    ({"qty": "-1"}, 422, "qty"),
    ({"qty": "abc"}, 422, "qty"),
    ({"qty": 2}, 422, "qty"),
    ({"qty": "1.0001"}, 422, "qty"),
    ({"qty": "12345678901"}, 422, "qty"),
    ({"qty": "1e3"}, 422, "qty"),
    ({"kind": "issue", "qty": "500"}, 409, "qty"),
    ({"kind": "receive", "unit_cost": None}, 422, "unit_cost"),
    ({"kind": "receive", "unit_cost": "-1.00"}, 422, "unit_cost"),
    ({"kind": "issue", "qty": "1", "unit_cost": "1.00"}, 422, "unit_cost"),
    ({"kind": "transfer", "to_location_id": "same"}, 422, "to_location_id"),
    ({"kind": "transfer"}, 422, "to_location_id"),
    ({"kind": "adjust", "qty": "-500"}, 409, "qty"),
    ({"kind": "fetch"}, 422, "kind"),
    ({"part_id": 999_999_999}, 422, "part_id"),
    ({"location_id": 999_999_999}, 422, "location_id"),
    ({"kind": "issue", "qty": "1", "order_id": 999_999_999}, 422, "order_id"),
    ({"kind": "issue", "qty": "1", "location_id": "empty"}, 409, "location_id"),
    ({"surprise": 1}, 422, "surprise"),
]


@pytest.mark.parametrize(
    ("change", "status", "field"), BAD_MOVES, ids=[f"{f}-{s}-{i}" for i, (_, s, f) in enumerate(BAD_MOVES)]
)
async def test_bad_moves_are_refused_and_change_nothing(
    tenant: Tenant, place: dict[str, Any], change: dict[str, Any], status: int, field: str
) -> None:
    admin = tenant["admin"]
    p = await part(admin)
    await receive(admin, p["id"], place["main"]["id"], "5")
    empty = ok(await admin.post("/api/v1/stock-locations", {"name": f"empty-{p['number']}"}), 201)
    body: dict[str, Any] = {
        "part_id": p["id"],
        "location_id": place["main"]["id"],
        "kind": "receive",
        "qty": "3",
        "unit_cost": "2.00",
        **change,
    }
    if body["kind"] != "receive" and "unit_cost" not in change:
        del body["unit_cost"]
    if body.get("to_location_id") == "same":
        body["to_location_id"] = body["location_id"]
    if body.get("location_id") == "empty":
        body["location_id"] = empty["id"]
    before = await snapshot(tenant)
    assert_problem(await admin.post("/api/v1/stock/moves", body), status, field=field)
    assert await snapshot(tenant) == before


async def test_other_tenants_records_cannot_be_moved(tenant: Tenant, other: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    p = await part(admin)
    theirs = await store(other)
    their_part = await part(other["admin"])
    before = await snapshot(tenant)
    for body, field in [
        ({"part_id": their_part["id"], "location_id": place["main"]["id"]}, "part_id"),
        ({"part_id": p["id"], "location_id": theirs["main"]["id"]}, "location_id"),
    ]:
        reply = await move(admin, body["part_id"], body["location_id"], "receive", "1", unit_cost="1.00")
        assert_problem(reply, 422, field=field)
    assert await snapshot(tenant) == before


async def test_duplicate_part_number_is_a_conflict(tenant: Tenant) -> None:
    admin = tenant["admin"]
    p = await part(admin)
    assert_problem(await admin.post("/api/v1/parts", {"number": p["number"], "name": "again"}), 409, field="number")
    bad = [
        ({"number": "", "name": "x"}, "number"),
        ({"number": "X1", "name": "x", "min_qty": "-1"}, "min_qty"),
        ({"number": "X1", "name": "x", "reorder_qty": "0.0001"}, "reorder_qty"),
        ({"number": "X1", "name": "x", "min_qty": 3}, "min_qty"),
    ]
    for body, field in bad:
        assert_problem(await admin.post("/api/v1/parts", body), 422, field=field)


async def test_roles(tenant: Tenant, place: dict[str, Any]) -> None:
    p = await part(tenant["admin"])
    main = place["main"]["id"]
    await receive(tenant["manager"], p["id"], main, "3")
    tech, requester = tenant["technician"], tenant["requester"]
    assert_problem(await tech.post("/api/v1/parts", {"number": "T-1", "name": "x"}), 403)
    assert_problem(await move(tech, p["id"], main, "receive", "1", unit_cost="1.00"), 403)
    assert_problem(await move(tech, p["id"], main, "adjust", "1"), 403)
    ok(await move(tech, p["id"], main, "issue", "1"), 201)
    ok(await move(tech, p["id"], main, "return", "1"), 201)
    ok(await tech.get(f"/api/v1/parts/{p['id']}/stock"))
    for path in ("/api/v1/parts", "/api/v1/stock-locations", "/api/v1/vendors", "/api/v1/stock/moves"):
        assert_problem(await requester.get(path), 403)
    assert_problem(await requester.get(f"/api/v1/parts/{p['id']}/stock"), 403)
    assert_problem(await move(requester, p["id"], main, "issue", "1"), 403)


async def test_parts_with_their_stock(tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin, min_qty="4")
    await receive(admin, p["id"], main, "3")
    await receive(admin, p["id"], bin_, "10")
    listed = ok(await tenant["technician"].get("/api/v1/stock/parts", params={"number": p["number"]}))["items"]
    assert len(listed) == 1
    row = listed[0]
    assert (row["id"], row["on_hand"], row["available"], row["low"]) == (p["id"], "13", "13", True)
    assert [(lv["location_id"], lv["location"], lv["on_hand"], lv["low"]) for lv in row["locations"]] == [
        (main, place["main"]["name"], "3", True),
        (bin_, place["bin"]["name"], "10", False),
    ]
    assert_problem(await tenant["requester"].get("/api/v1/stock/parts"), 403)
