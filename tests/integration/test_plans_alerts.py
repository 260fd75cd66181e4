"""Preventive-maintenance plans, alerts (open → acknowledged → resolved) and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.support import Tenant, assert_problem, ok, unique


@pytest.fixture(scope="module")
async def site(tenant: Tenant) -> Tenant:
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    meters = [{"name": "hours", "unit": "h"}, {"name": "temp", "max": 90}]
    asset = ok(await admin.post("/api/v1/assets", {"name": "Press", "plant_id": plant["id"], "meters": meters}), 201)
    tenant.things.update(plant=plant, asset=asset)
    return tenant


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def new_plan(site: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"asset_id": site.things["asset"]["id"], "title": unique("plan"), "interval_days": 30, **fields}
    return ok(await site["manager"].post("/api/v1/plans", body), 201)


# ---- plans ---------------------------------------------------------------------------------------


async def test_calendar_plan_is_due_one_interval_from_now(site: Tenant) -> None:
    before = datetime.now(UTC)
    plan = await new_plan(site, interval_days=14, lead_days=3, priority="high")
    after = datetime.now(UTC)
    assert plan["trigger"] == "calendar"
    assert plan["schedule"] == "fixed"
    assert plan["active"] is True
    assert plan["priority"] == "high"
    assert plan["version"] == 1
    due = _at(plan["next_due_at"])
    assert before + timedelta(days=14) - timedelta(seconds=1) <= due <= after + timedelta(days=14)
    assert ok(await site["technician"].get(f"/api/v1/plans/{plan['id']}")) == plan


async def test_named_due_date_is_kept(site: Tenant) -> None:
    plan = await new_plan(site, next_due_at="2030-03-01T08:00:00+01:00")
    assert plan["next_due_at"] == "2030-03-01T07:00:00Z"


async def test_meter_plan_counts_from_the_latest_reading(site: Tenant) -> None:
    asset = site.things["asset"]
    ok(await site["admin"].post(f"/api/v1/assets/{asset['id']}/readings", [{"meter": "hours", "value": 1200}]), 201)
    plan = await new_plan(site, trigger="meter", meter="hours", meter_interval=500, interval_days=None)
    assert plan["trigger"] == "meter"
    assert plan["next_due_meter"] == 1700
    reply = await site["manager"].post(
        "/api/v1/plans",
        {"asset_id": asset["id"], "title": "x", "trigger": "meter", "meter": "pressure", "meter_interval": 5},
    )
    assert_problem(reply, 422, field="meter")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"trigger": "calendar", "interval_days": None}, 422),
        ({"trigger": "meter", "interval_days": None}, 422),
        ({"trigger": "weekly"}, 422),
        ({"interval_days": 0}, 422),
        ({"interval_days": 1.5}, 422),
        ({"lead_days": -1}, 422),
        ({"asset_id": 999_999_999}, 422),
    ],
)
async def test_invalid_plans_are_refused(site: Tenant, body: dict[str, Any], status: int) -> None:
    full = {"asset_id": site.things["asset"]["id"], "title": "bad", "interval_days": 30, **body}
    full = {k: v for k, v in full.items() if v is not None}
    assert_problem(await site["manager"].post("/api/v1/plans", full), status)


async def test_plan_roles(site: Tenant) -> None:
    plan = await new_plan(site)
    url = f"/api/v1/plans/{plan['id']}"
    body = {"asset_id": site.things["asset"]["id"], "title": "x", "interval_days": 7}
    for role in ("technician", "requester"):
        assert_problem(await site[role].post("/api/v1/plans", body), 403)
        assert_problem(await site[role].patch(url, {"title": "y"}), 403)
        assert_problem(await site[role].delete(url), 403)
    ok(await site["technician"].get("/api/v1/plans"))
    assert_problem(await site["requester"].get("/api/v1/plans"), 403)
    assert_problem(await site["requester"].get(url), 403)
    assert ok(await site["admin"].get(url)) == plan


async def test_plan_patch_if_match_and_delete(site: Tenant) -> None:
    plan = await new_plan(site)
    url = f"/api/v1/plans/{plan['id']}"
    admin = site["admin"]
    reply = await admin.patch(url, {"interval_days": 60}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["interval_days"] == 60 and changed["version"] == 2
    assert _at(changed["next_due_at"]) > _at(plan["next_due_at"])  # recomputed with the new interval
    assert_problem(await admin.patch(url, {"title": "stale"}, headers={"If-Match": '"1"'}), 412)
    # Switching to a meter trigger without a meter is refused whole.
    assert_problem(await admin.patch(url, {"title": "half", "trigger": "meter"}), 422)
    assert ok(await admin.get(url)) == changed
    assert_problem(await admin.delete(url, headers={"If-Match": '"1"'}), 412)
    ok(await admin.delete(url, headers={"If-Match": '"2"'}), 204)
    assert_problem(await admin.get(url), 404)


async def test_plan_with_orders_is_not_deleted(site: Tenant) -> None:
    plan = await new_plan(site)
    await site.sql(
        "INSERT INTO work_orders (tenant_id, number, title, status, plan_id)"
        " VALUES (%s, 900000 + %s, 'from plan', 'open', %s) RETURNING id",
        (site.id, plan["id"] % 90000, plan["id"]),
    )
    assert_problem(await site["admin"].delete(f"/api/v1/plans/{plan['id']}"), 409)


async def test_plan_list_filters(site: Tenant) -> None:
    plant = site.things["plant"]
    other_asset = ok(await site["admin"].post("/api/v1/assets", {"name": "Lathe", "plant_id": plant["id"]}), 201)
    a = await new_plan(site, asset_id=other_asset["id"])
    b = await new_plan(site, asset_id=other_asset["id"], active=False)
    listed = ok(await site["admin"].get("/api/v1/plans", params={"asset_id": other_asset["id"]}))
    assert {p["id"] for p in listed["items"]} == {a["id"], b["id"]}
    active = ok(await site["admin"].get("/api/v1/plans", params={"asset_id": other_asset["id"], "active": "true"}))
    assert [p["id"] for p in active["items"]] == [a["id"]]


# ---- alerts ---------------------------------------------------------------------------------------


async def new_alert(site: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"kind": "vibration", "severity": "critical", "message": "Bearing vibration high", **fields}
    return ok(await site["technician"].post("/api/v1/alerts", body), 201)


async def test_alert_lifecycle(site: Tenant) -> None:
    alert = await new_alert(site, asset_id=site.things["asset"]["id"])
    assert alert["status"] == "open"
    assert alert["severity"] == "critical"
    assert alert["asset_id"] == site.things["asset"]["id"]
    assert alert["acknowledged_by"] is None and alert["resolved_by"] is None
    url = f"/api/v1/alerts/{alert['id']}"
    manager = site["manager"]
    acked = ok(await manager.post(f"{url}/ack"))
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == manager.user_id
    assert acked["acknowledged_at"] is not None
    assert acked["version"] == alert["version"] + 1
    assert_problem(await manager.post(f"{url}/ack"), 409)
    resolved = ok(await site["technician"].post(f"{url}/resolve"))
    assert resolved["status"] == "resolved"
    assert resolved["resolved_by"] == site["technician"].user_id
    assert resolved["acknowledged_by"] == manager.user_id
    assert_problem(await manager.post(f"{url}/resolve"), 409)
    assert_problem(await manager.post(f"{url}/ack"), 409)
    assert ok(await manager.get(url)) == resolved


async def test_an_open_alert_may_be_resolved_directly(site: Tenant) -> None:
    alert = await new_alert(site, severity="info")
    resolved = ok(await site["admin"].post(f"/api/v1/alerts/{alert['id']}/resolve"))
    assert resolved["status"] == "resolved"
    assert resolved["acknowledged_by"] is None


async def test_alert_if_match(site: Tenant) -> None:
    alert = await new_alert(site)
    url = f"/api/v1/alerts/{alert['id']}"
    assert_problem(await site["admin"].post(f"{url}/ack", headers={"If-Match": '"5"'}), 412)
    ok(await site["admin"].post(f"{url}/ack", headers={"If-Match": f'"{alert["version"]}"'}))


async def test_requesters_do_not_see_or_raise_alerts(site: Tenant) -> None:
    alert = await new_alert(site)
    requester = site["requester"]
    assert_problem(await requester.get("/api/v1/alerts"), 403)
    assert_problem(await requester.get(f"/api/v1/alerts/{alert['id']}"), 403)
    assert_problem(await requester.post("/api/v1/alerts", {"kind": "k", "message": "m"}), 403)
    assert_problem(await requester.post(f"/api/v1/alerts/{alert['id']}/ack"), 403)
    assert ok(await site["admin"].get(f"/api/v1/alerts/{alert['id']}"))["status"] == "open"


async def test_alert_input_is_checked(site: Tenant) -> None:
    tech = site["technician"]
    assert_problem(
        await tech.post("/api/v1/alerts", {"kind": "k", "message": "m", "asset_id": 999_999_999}), 422, field="asset_id"
    )
    assert_problem(
        await tech.post("/api/v1/alerts", {"kind": "k", "message": "m", "severity": "fatal"}), 422, field="severity"
    )
    assert_problem(await tech.post("/api/v1/alerts", {"kind": "k", "message": "   "}), 422, field="message")
    assert_problem(await tech.post("/api/v1/alerts", {"message": "m"}), 422, field="kind")


async def test_alert_list_filters(site: Tenant) -> None:
    admin = site["admin"]
    asset = ok(await admin.post("/api/v1/assets", {"name": "Kiln", "plant_id": site.things["plant"]["id"]}), 201)
    a = await new_alert(site, asset_id=asset["id"], severity="warning")
    b = await new_alert(site, asset_id=asset["id"], severity="critical")
    ok(await admin.post(f"/api/v1/alerts/{b['id']}/ack"))

    async def ids(**params: Any) -> list[int]:
        page = ok(await admin.get("/api/v1/alerts", params={"asset_id": asset["id"], **params}))
        return [x["id"] for x in page["items"]]

    assert await ids() == [b["id"], a["id"]]
    assert await ids(status="open") == [a["id"]]
    assert await ids(status="open,acknowledged") == [b["id"], a["id"]]
    assert await ids(severity="critical") == [b["id"]]
    assert await ids(status="resolved") == []


async def test_alert_is_published_to_staff(site: Tenant) -> None:
    alert = await new_alert(site, asset_id=site.things["asset"]["id"])
    rows = await site.sql(
        "SELECT audience, data FROM outbox WHERE type = 'alert:triggered' AND (data->>'id')::bigint = %s",
        (alert["id"],),
    )
    assert len(rows) == 1
    assert "role:requester" not in rows[0]["audience"]
    assert "tenant" not in rows[0]["audience"]
    assert rows[0]["data"]["asset"]["id"] == site.things["asset"]["id"]


# ---- audit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("manager", True), ("technician", False), ("requester", False)]
)
async def test_audit_is_for_supervisors(site: Tenant, role: str, allowed: bool) -> None:
    reply = await site[role].get("/api/v1/audit")
    if allowed:
        assert ok(reply)["items"]
    else:
        assert_problem(reply, 403)


async def test_audit_records_who_did_what(site: Tenant) -> None:
    admin = site["admin"]
    plant = ok(
        await admin.post("/api/v1/plants", {"name": unique("audited")}, headers={"X-Request-Id": "req-audit-1"}), 201
    )
    ok(await site["manager"].patch(f"/api/v1/plants/{plant['id']}", {"code": "AU"}))
    page = ok(await admin.get("/api/v1/audit", params={"entity": "plant", "entity_id": plant["id"]}))
    entries = page["items"]
    assert [e["action"] for e in entries] == ["update", "create"]  # newest first
    assert entries[1]["actor_id"] == admin.user_id
    assert entries[1]["request_id"] == "req-audit-1"
    assert entries[0]["actor_id"] == site["manager"].user_id
    assert entries[0]["changes"] == {"code": [None, "AU"]}
    by_manager = ok(await admin.get("/api/v1/audit", params={"actor_id": site["manager"].user_id, "limit": 200}))
    assert all(e["actor_id"] == site["manager"].user_id for e in by_manager["items"])
    assert any(e["entity_id"] == plant["id"] for e in by_manager["items"])


async def test_audit_never_shows_passwords(site: Tenant) -> None:
    user = ok(
        await site["admin"].post(
            "/api/v1/users",
            {"email": f"{unique('a')}@example.com", "role": "technician", "password": "s3cret-password"},
        ),
        201,
    )
    ok(await site["admin"].patch(f"/api/v1/users/{user['id']}", {"password": "an0ther-password"}))
    entries = ok(await site["admin"].get("/api/v1/audit", params={"entity": "user", "entity_id": user["id"]}))["items"]
    assert len(entries) == 2
    text = str(entries)
    assert "s3cret-password" not in text and "an0ther-password" not in text
    assert "argon2" not in text
