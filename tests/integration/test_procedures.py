"""Procedures and checklists over HTTP on the real PostgreSQL: each item type's validation and
result, the completion rule, revisions that leave attached snapshots alone, PM plans that bring
their checklist, and the audit rows and events a recording writes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from cmms.services import maintenance
from tests.integration.support import Tenant, assert_problem, ok
from tests.integration.work_support import (
    EVERY_TYPE,
    item_of,
    order,
    order_with_checklist,
    procedure,
    record,
    site,
    to_in_progress,
)


@pytest.fixture(scope="module")
async def place(tenant: Tenant) -> dict[str, Any]:
    return await site(tenant)


# (label, value sent, stored value, result): the result the server computes for each type.
RECORDINGS = [
    ("Lock out and tag out", True, True, "ok"),
    ("Lock out and tag out", False, None, None),
    ("Seal condition", "pass", "pass", "ok"),
    ("Seal condition", "flag", "flag", "flag"),
    ("Vibration DE", 2.8, 2.8, "ok"),
    ("Vibration DE", 0, 0.0, "ok"),
    ("Vibration DE", 4.5, 4.5, "ok"),
    ("Remarks", "  bearing noise at start  ", "bearing noise at start", "ok"),
    ("Oil colour", "dark", "dark", "ok"),
    ("Running hours", 1234.5, 1234.5, "ok"),
]


@pytest.mark.parametrize(("label", "sent", "stored", "result"), RECORDINGS)
async def test_each_type_is_validated_and_scored(
    tenant: Tenant, place: dict[str, Any], label: str, sent: Any, stored: Any, result: str | None
) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, label)
    tech = tenant["technician"]
    out = ok(await record(tech, wo["id"], item["id"], {"value": sent, "notes": "seen"}))
    assert (out["value"], out["result"], out["notes"]) == (stored, result, "seen")
    assert out["done_by"] == (tech.user_id if stored is not None else None)
    assert (out["done_at"] is not None) == (stored is not None)
    again = ok(await tech.get(f"/api/v1/orders/{wo['id']}/checklist"))
    assert item_of(again, label)["value"] == stored


# (label, bad value): each refused with 422 naming `value`, nothing stored.
BAD_VALUES = [
    ("Safety", True),
    ("Safety", "x"),
    ("Lock out and tag out", "yes"),
    ("Lock out and tag out", 1),
    ("Seal condition", "ok"),
    ("Seal condition", True),
    ("Vibration DE", "2.8"),
    ("Vibration DE", True),
    ("Vibration DE", [1]),
    ("Vibration DE", 1e16),
    ("Remarks", 5),
    ("Remarks", "   "),
    ("Oil colour", "purple"),
    ("Oil colour", 1),
    ("Running hours", "1200"),
]


@pytest.mark.parametrize(("label", "value"), BAD_VALUES)
async def test_wrong_values_are_refused_and_nothing_is_written(
    tenant: Tenant, place: dict[str, Any], label: str, value: Any
) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, label)
    audit_before = await tenant.sql("SELECT count(*) AS n FROM audit_log WHERE entity_id = %s", (wo["id"],))
    reply = await record(tenant["technician"], wo["id"], item["id"], {"value": value})
    assert_problem(reply, 422, field="value")
    after = ok(await tenant["admin"].get(f"/api/v1/orders/{wo['id']}/checklist"))
    assert item_of(after, label) == item
    audit_after = await tenant.sql("SELECT count(*) AS n FROM audit_log WHERE entity_id = %s", (wo["id"],))
    assert audit_after == audit_before


async def test_number_outside_limits_fails_and_opens_a_follow_up(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, "Vibration DE")
    out = ok(await record(tenant["technician"], wo["id"], item["id"], {"value": 7.1, "notes": "rough"}))
    assert out["result"] == "fail"
    follow_up = ok(await tenant["admin"].get(f"/api/v1/orders/{out['follow_up_id']}"))
    assert follow_up["follow_up_of"] == wo["id"]
    assert follow_up["type"] == "corrective" and follow_up["asset_id"] == place["asset"]["id"]
    assert "Vibration DE" in follow_up["title"]
    # Re-sending the value, or a pass and another fail, opens nothing more.
    for value in (7.1, 3.0, 9.9):
        ok(await record(tenant["technician"], wo["id"], item["id"], {"value": value}))
    rows = await tenant.sql("SELECT id FROM work_orders WHERE follow_up_of = %s", (wo["id"],))
    assert [r["id"] for r in rows] == [follow_up["id"]]
    # pass_fail "fail" is a fail too, on its own item: one follow-up more.
    seal = item_of(checklist, "Seal condition")
    ok(await record(tenant["technician"], wo["id"], seal["id"], {"value": "fail"}))
    rows = await tenant.sql("SELECT id FROM work_orders WHERE follow_up_of = %s", (wo["id"],))
    assert len(rows) == 2


async def test_completion_waits_for_required_items(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    tech = tenant["technician"]
    await to_in_progress(tenant, wo["id"])
    required = [i for i in checklist["items"] if i["required"]]
    assert checklist["missing_required"] == [i["id"] for i in required]
    values = {"Lock out and tag out": True, "Seal condition": "pass", "Vibration DE": 1.2}
    for item in required:
        body = assert_problem(await tech.post(f"/api/v1/orders/{wo['id']}/transition", {"to": "completed"}), 409)
        still = [i for i in required if i["id"] >= item["id"]]
        for missing in still:
            assert f"#{missing['id']}" in body["detail"] and missing["label"] in body["detail"]
        assert body["errors"][0]["field"] == "checklist"
        ok(await record(tech, wo["id"], item["id"], {"value": values[item["label"]]}))
    assert ok(await tech.get(f"/api/v1/orders/{wo['id']}/checklist"))["missing_required"] == []
    done = ok(await tech.post(f"/api/v1/orders/{wo['id']}/transition", {"to": "completed"}))
    assert done["status"] == "completed"
    # A completed order's checklist no longer changes.
    box = item_of(checklist, "Lock out and tag out")
    assert_problem(await record(tech, wo["id"], box["id"], {"value": False}), 409, field="status")


async def test_unticking_a_required_checkbox_blocks_completion_again(tenant: Tenant, place: dict[str, Any]) -> None:
    items = [{"label": "Guard refitted", "type": "checkbox", "required": True}]
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"], items)
    await to_in_progress(tenant, wo["id"])
    box = checklist["items"][0]
    ok(await record(tenant["technician"], wo["id"], box["id"], {"value": True}))
    ok(await record(tenant["technician"], wo["id"], box["id"], {"value": False}))
    reply = await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/transition", {"to": "completed"})
    assert_problem(reply, 409, field="checklist")


async def test_an_order_without_checklist_completes_as_before(tenant: Tenant) -> None:
    wo = await order(tenant)
    await to_in_progress(tenant, wo["id"])
    ok(await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/transition", {"to": "completed"}))
    assert_problem(await tenant["technician"].get(f"/api/v1/orders/{wo['id']}/checklist"), 404)


async def test_revisions_leave_attached_snapshots_unchanged(tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    proc = await procedure(admin, [{"label": "Check belt", "type": "checkbox", "required": True}])
    assert proc["revision"] == 1
    first = await order(tenant, place["asset"]["id"])
    snap = ok(await admin.post(f"/api/v1/orders/{first['id']}/checklist", {"procedure_id": proc["id"]}), 201)
    ok(await record(tenant["technician"], first["id"], snap["items"][0]["id"], {"value": True}))
    before = ok(await admin.get(f"/api/v1/orders/{first['id']}/checklist"))
    new_items = [
        {"label": "Check belt tension", "type": "number", "unit": "N", "min": 300, "max": 400},
        {"label": "Check guard", "type": "checkbox"},
    ]
    edited = ok(
        await admin.patch(
            f"/api/v1/procedures/{proc['id']}", {"items": new_items}, headers={"If-Match": f'"{proc["version"]}"'}
        )
    )
    assert edited["revision"] == 2 and [i["label"] for i in edited["items"]] == ["Check belt tension", "Check guard"]
    stale = await admin.patch(f"/api/v1/procedures/{proc['id']}", {"name": "x"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    assert ok(await admin.get(f"/api/v1/orders/{first['id']}/checklist")) == before
    assert before["revision"] == 1
    second = await order(tenant, place["asset"]["id"])
    later = ok(await admin.post(f"/api/v1/orders/{second['id']}/checklist", {"procedure_id": proc["id"]}), 201)
    assert later["revision"] == 2 and [i["label"] for i in later["items"]] == ["Check belt tension", "Check guard"]
    # Deleting the procedure keeps both snapshots.
    ok(await admin.delete(f"/api/v1/procedures/{proc['id']}"), 204)
    assert ok(await admin.get(f"/api/v1/orders/{first['id']}/checklist"))["items"] == before["items"]


async def test_a_second_attach_is_a_conflict(tenant: Tenant) -> None:
    wo, _ = await order_with_checklist(tenant, None, [{"label": "x", "type": "checkbox"}])
    proc = await procedure(tenant["admin"])
    reply = await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/checklist", {"procedure_id": proc["id"]})
    assert_problem(reply, 409, field="procedure_id")
    unknown = await order(tenant)
    reply = await tenant["admin"].post(f"/api/v1/orders/{unknown['id']}/checklist", {"procedure_id": 2**62})
    assert_problem(reply, 422, field="procedure_id")


async def test_a_pm_plan_brings_its_checklist(rt: Any, tenant: Tenant, place: dict[str, Any]) -> None:
    admin = tenant["admin"]
    proc = await procedure(admin, [{"label": "Grease bearings", "type": "checkbox", "required": True}])
    due = rt.deps.clock() + timedelta(days=1)
    plan = ok(
        await admin.post(
            "/api/v1/plans",
            {
                "asset_id": place["asset"]["id"],
                "title": "Weekly greasing",
                "interval_days": 7,
                "next_due_at": due.isoformat(),
                "procedure_id": proc["id"],
            },
        ),
        201,
    )
    assert plan["procedure_id"] == proc["id"]
    outcome = await maintenance.process_plan(rt.deps, tenant.operator, plan["id"], rt.deps.clock())
    assert outcome.order_id is not None
    checklist = ok(await admin.get(f"/api/v1/orders/{outcome.order_id}/checklist"))
    assert checklist["procedure_id"] == proc["id"] and checklist["items"][0]["label"] == "Grease bearings"
    assert_problem(await admin.patch(f"/api/v1/plans/{plan['id']}", {"procedure_id": 2**62}), 422, "procedure_id")
    assert_problem(await admin.delete(f"/api/v1/procedures/{proc['id']}"), 409)


async def test_meter_item_writes_a_reading_and_a_meter_plan_reacts(rt: Any, tenant: Tenant) -> None:
    place = await site(tenant)
    asset_id = place["asset"]["id"]
    admin = tenant["admin"]
    ok(await admin.post(f"/api/v1/assets/{asset_id}/readings", [{"meter": "hours", "value": 100}]), 201)
    plan = ok(
        await admin.post(
            "/api/v1/plans",
            {"asset_id": asset_id, "title": "Oil change", "trigger": "meter", "meter": "hours", "meter_interval": 500},
        ),
        201,
    )
    assert plan["next_due_meter"] == 600
    now = rt.deps.clock()
    assert (await maintenance.process_plan(rt.deps, tenant.operator, plan["id"], now)).order_id is None
    items = [{"label": "Hour meter", "type": "meter", "meter": "hours", "unit": "h", "required": True}]
    wo, checklist = await order_with_checklist(tenant, asset_id, items)
    ok(await record(tenant["technician"], wo["id"], checklist["items"][0]["id"], {"value": 612}))
    readings = ok(await admin.get(f"/api/v1/assets/{asset_id}/readings", params={"meter": "hours"}))["items"]
    assert readings[0]["value"] == 612
    later = dataclasses.replace(rt.deps, clock=lambda: now + timedelta(minutes=1))
    outcome = await maintenance.process_plan(later, tenant.operator, plan["id"], now + timedelta(minutes=1))
    assert outcome.order_id is not None
    # A meter item outside the meter's own limits raises a condition alert, as readings do.
    temp = [{"label": "Bearing temperature", "type": "meter", "meter": "temp", "unit": "°C"}]
    wo2, checklist2 = await order_with_checklist(tenant, asset_id, temp)
    ok(await record(tenant["technician"], wo2["id"], checklist2["items"][0]["id"], {"value": 97}))
    alerts = ok(await admin.get("/api/v1/alerts", params={"asset_id": asset_id}))["items"]
    assert any(a["kind"] == "condition" and "temp" in a["message"] for a in alerts)


async def test_meter_item_needs_the_orders_asset_meter(tenant: Tenant) -> None:
    items = [{"label": "Hours", "type": "meter", "meter": "hours"}]
    wo, checklist = await order_with_checklist(tenant, None, items)
    reply = await record(tenant["technician"], wo["id"], checklist["items"][0]["id"], {"value": 5})
    assert_problem(reply, 422, field="value")
    assert (await tenant.sql("SELECT value FROM checklist_items WHERE id = %s", (checklist["items"][0]["id"],))) == [
        {"value": None}
    ]


async def test_recording_writes_audit_and_a_staff_event(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, "Remarks")
    out = ok(await record(tenant["technician"], wo["id"], item["id"], {"value": "all good"}))
    audit = await tenant.sql(
        "SELECT action, changes FROM audit_log WHERE entity = 'order' AND entity_id = %s ORDER BY id DESC LIMIT 1",
        (wo["id"],),
    )
    assert audit[0]["action"] == "record_item" and audit[0]["changes"]["value"] == [None, "all good"]
    events = await tenant.sql(
        "SELECT type, audience, data FROM outbox WHERE type = 'order:updated' AND (data->>'id')::bigint = %s"
        " ORDER BY seq DESC LIMIT 1",
        (wo["id"],),
    )
    assert events[0]["data"]["changed"] == ["checklist"] and events[0]["data"]["item"]["id"] == out["id"]
    assert not any(room.startswith("user:") for room in events[0]["audience"])


async def test_if_match_on_an_item(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, "Remarks")
    tech, admin = tenant["technician"], tenant["admin"]
    first = await record(tech, wo["id"], item["id"], {"value": "one"}, headers={"If-Match": f'"{item["version"]}"'})
    assert ok(first)["version"] == item["version"] + 1 and first.headers["ETag"] == f'"{item["version"] + 1}"'
    stale = await record(admin, wo["id"], item["id"], {"value": "two"}, headers={"If-Match": f'"{item["version"]}"'})
    assert_problem(stale, 412)
    later = ok(await record(admin, wo["id"], item["id"], {"value": "three"}))  # no If-Match: the later one wins
    assert later["value"] == "three" and later["done_by"] == admin.user_id


def test_every_type_is_in_the_fixture() -> None:
    assert {i["type"] for i in EVERY_TYPE} == {"checkbox", "pass_fail", "number", "text", "choice", "meter", "heading"}


async def test_unknown_items_and_unparseable_numbers(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    tech = tenant["technician"]
    assert_problem(await record(tech, wo["id"], 2**62, {"value": True}), 404, field="item_id")
    other, other_list = await order_with_checklist(tenant, place["asset"]["id"])
    foreign_item = other_list["items"][1]["id"]  # an item of another order is unknown here
    assert_problem(await record(tech, wo["id"], foreign_item, {"value": True}), 404, field="item_id")
    number = item_of(checklist, "Vibration DE")
    url = f"/api/v1/orders/{wo['id']}/checklist/items/{number['id']}"
    for raw in (b'{"value": 1e999}', b'{"value": NaN}', b'{"value": Infinity}'):
        reply = await tech.request("PATCH", url, data=raw, headers={"Content-Type": "application/json"})
        assert_problem(reply, 400, field="body")
    assert_problem(await record(tech, wo["id"], number["id"], {"value": 1, "colour": "red"}), 422, field="colour")
    assert item_of(ok(await tech.get(f"/api/v1/orders/{wo['id']}/checklist")), "Vibration DE") == number
    assert other["id"] != wo["id"]


async def test_an_empty_recording_changes_nothing(tenant: Tenant, place: dict[str, Any]) -> None:
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"])
    item = item_of(checklist, "Remarks")
    assert ok(await record(tenant["technician"], wo["id"], item["id"], {})) == item
    rows = await tenant.sql(
        "SELECT count(*) AS n FROM audit_log WHERE action = 'record_item' AND entity_id = %s", (wo["id"],)
    )
    assert rows == [{"n": 0}]
