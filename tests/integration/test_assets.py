"""Assets (a tree per plant) and their meter readings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.support import Api, Tenant, assert_problem, ok, unique

METERS = [{"name": "hours", "unit": "h"}, {"name": "temp", "unit": "C", "min": -10, "max": 80}]


@pytest.fixture(scope="module")
async def site(tenant: Tenant) -> Tenant:
    admin = tenant["admin"]
    tenant.things["plant"] = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    tenant.things["plant2"] = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    return tenant


async def new_asset(api: Api, plant: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return ok(await api.post("/api/v1/assets", {"name": unique("asset"), "plant_id": plant["id"], **fields}), 201)


async def test_create_with_defaults_and_read_back(site: Tenant) -> None:
    plant = site.things["plant"]
    reply = await site["admin"].post("/api/v1/assets", {"name": "Compressor", "plant_id": plant["id"]})
    asset = ok(reply, 201)
    assert reply.headers["ETag"] == '"1"'
    assert asset["plant_id"] == plant["id"]
    assert asset["parent_id"] is None
    assert asset["criticality"] == "medium"
    assert asset["status"] == "operational"
    assert asset["meters"] == []
    assert asset["version"] == 1
    got = await site["requester"].get(f"/api/v1/assets/{asset['id']}")
    assert ok(got) == asset
    assert got.headers["ETag"] == '"1"'


async def test_create_with_every_field(site: Tenant) -> None:
    asset = await new_asset(
        site["manager"],
        site.things["plant"],
        code=unique("C"),
        type="pump",
        manufacturer="ACME",
        model="P-100",
        serial="SN1",
        criticality="critical",
        status="maintenance",
        meters=METERS,
    )
    assert asset["criticality"] == "critical"
    assert asset["status"] == "maintenance"
    assert [m["name"] for m in asset["meters"]] == ["hours", "temp"]
    assert asset["meters"][1]["max"] == 80


@pytest.mark.parametrize("role", ["technician", "requester"])
async def test_only_supervisors_change_assets(site: Tenant, role: str) -> None:
    plant = site.things["plant"]
    api = site[role]
    assert_problem(await api.post("/api/v1/assets", {"name": "x", "plant_id": plant["id"]}), 403)
    asset = await new_asset(site["admin"], plant)
    assert_problem(await api.patch(f"/api/v1/assets/{asset['id']}", {"name": "y"}), 403)
    assert_problem(await api.delete(f"/api/v1/assets/{asset['id']}"), 403)
    assert ok(await api.get(f"/api/v1/assets/{asset['id']}")) == asset


async def test_plant_must_exist_in_the_tenant(site: Tenant, other: Tenant) -> None:
    foreign = ok(await other["admin"].post("/api/v1/plants", {"name": unique("p")}), 201)
    for plant_id in (foreign["id"], 999_999_999):
        reply = await site["admin"].post("/api/v1/assets", {"name": "x", "plant_id": plant_id})
        assert_problem(reply, 422, field="plant_id")


async def test_duplicate_code_is_409(site: Tenant) -> None:
    code = unique("CODE")
    first = await new_asset(site["admin"], site.things["plant"], code=code)
    reply = await site["admin"].post("/api/v1/assets", {"name": "x", "plant_id": first["plant_id"], "code": code})
    assert_problem(reply, 409, field="code")
    second = await new_asset(site["admin"], site.things["plant"])
    assert_problem(await site["admin"].patch(f"/api/v1/assets/{second['id']}", {"code": code}), 409, field="code")


async def test_hierarchy_and_its_rules(site: Tenant) -> None:
    admin, plant = site["admin"], site.things["plant"]
    root = await new_asset(admin, plant)
    child = await new_asset(admin, plant, parent_id=root["id"])
    grandchild = await new_asset(admin, plant, parent_id=child["id"])
    assert child["parent_id"] == root["id"]
    children = ok(await admin.get("/api/v1/assets", params={"parent_id": root["id"]}))
    assert [a["id"] for a in children["items"]] == [child["id"]]
    # No loops: not under itself, not under a descendant.
    for parent in (root, child, grandchild):
        reply = await admin.patch(f"/api/v1/assets/{root['id']}", {"parent_id": parent["id"]})
        assert_problem(reply, 422, field="parent_id")
    # The parent lives in the same plant.
    elsewhere = await new_asset(admin, site.things["plant2"])
    assert_problem(
        await admin.patch(f"/api/v1/assets/{child['id']}", {"parent_id": elsewhere["id"]}), 422, field="parent_id"
    )
    reply = await admin.post("/api/v1/assets", {"name": "x", "plant_id": plant["id"], "parent_id": elsewhere["id"]})
    assert_problem(reply, 422, field="parent_id")
    assert_problem(await admin.post("/api/v1/assets", {"name": "x", "plant_id": plant["id"], "parent_id": 10**12}), 422)
    # Re-parenting within the plant works; the tree is unchanged by the refusals above.
    moved = ok(await admin.patch(f"/api/v1/assets/{grandchild['id']}", {"parent_id": root["id"]}))
    assert moved["parent_id"] == root["id"]
    assert ok(await admin.get(f"/api/v1/assets/{root['id']}"))["parent_id"] is None


async def test_patch_with_if_match_and_no_partial_write(site: Tenant) -> None:
    admin = site["admin"]
    asset = await new_asset(admin, site.things["plant"], meters=METERS)
    url = f"/api/v1/assets/{asset['id']}"
    reply = await admin.patch(url, {"status": "down"}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["status"] == "down" and changed["version"] == 2
    assert reply.headers["ETag"] == '"2"'
    assert_problem(await admin.patch(url, {"status": "operational"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(await admin.patch(url, {"name": "half", "criticality": "extreme"}), 422, field="criticality")
    assert_problem(await admin.patch(url, {"name": "half", "status": None}), 422, field="status")
    assert_problem(await admin.patch(url, {"name": "half", "meters": [{"name": "a"}, {"name": "a"}]}), 422)
    assert ok(await admin.get(url)) == changed


async def test_list_filters_and_plant_assets(site: Tenant) -> None:
    admin = site["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    tag = unique("Filt")
    a = await new_asset(admin, plant, name=f"{tag} pump", criticality="high", code=unique("PMP"))
    b = await new_asset(admin, plant, name=f"{tag} fan", criticality="low", status="down")
    elsewhere = await new_asset(admin, site.things["plant2"], name=f"{tag} drill")

    async def ids(path: str = "/api/v1/assets", **params: Any) -> set[int]:
        return {x["id"] for x in ok(await admin.get(path, params={"limit": 200, **params}))["items"]}

    assert await ids(plant_id=plant["id"]) == {a["id"], b["id"]}
    assert await ids(f"/api/v1/plants/{plant['id']}/assets") == {a["id"], b["id"]}
    assert await ids(q=tag) == {a["id"], b["id"], elsewhere["id"]}
    assert await ids(q=tag.upper()) == {a["id"], b["id"], elsewhere["id"]}
    assert await ids(q=a["code"]) == {a["id"]}
    assert await ids(plant_id=plant["id"], criticality="high,critical") == {a["id"]}
    assert await ids(plant_id=plant["id"], status="down") == {b["id"]}
    assert_problem(await admin.get("/api/v1/plants/999999999/assets"), 404)


async def test_delete_guarded_by_dependents(site: Tenant) -> None:
    admin, plant = site["admin"], site.things["plant"]
    parent = await new_asset(admin, plant)
    child = await new_asset(admin, plant, parent_id=parent["id"])
    assert_problem(await admin.delete(f"/api/v1/assets/{parent['id']}"), 409)
    with_order = await new_asset(admin, plant)
    ok(await admin.post("/api/v1/orders", {"title": "fix", "asset_id": with_order["id"]}), 201)
    assert_problem(await admin.delete(f"/api/v1/assets/{with_order['id']}"), 409)
    assert_problem(await admin.delete(f"/api/v1/assets/{child['id']}", headers={"If-Match": '"7"'}), 412)
    ok(await admin.delete(f"/api/v1/assets/{child['id']}", headers={"If-Match": '"1"'}), 204)
    ok(await admin.delete(f"/api/v1/assets/{parent['id']}"), 204)
    assert_problem(await admin.get(f"/api/v1/assets/{parent['id']}"), 404)


async def test_creation_is_audited_and_published(site: Tenant) -> None:
    asset = await new_asset(site["admin"], site.things["plant"])
    events = await site.sql(
        "SELECT type FROM outbox WHERE type = 'asset:created' AND (data->>'id')::bigint = %s", (asset["id"],)
    )
    assert len(events) == 1
    audit = ok(await site["admin"].get("/api/v1/audit", params={"entity": "asset", "entity_id": asset["id"]}))
    assert [e["action"] for e in audit["items"]] == ["create"]


# ---- readings -----------------------------------------------------------------------------------


async def test_record_and_list_readings(site: Tenant) -> None:
    admin = site["admin"]
    asset = await new_asset(admin, site.things["plant"], meters=METERS)
    url = f"/api/v1/assets/{asset['id']}/readings"
    body = {
        "readings": [
            {"meter": "hours", "value": 100, "at": "2026-01-01T00:00:00Z"},
            {"meter": "hours", "value": 110.5, "at": "2026-01-02T01:00:00+01:00"},
            {"meter": "temp", "value": 40, "at": "2026-01-01T12:00:00Z"},
        ]
    }
    stored = ok(await site["technician"].post(url, body), 201)["items"]
    assert [(r["meter"], r["value"]) for r in stored] == [("hours", 100), ("hours", 110.5), ("temp", 40)]
    assert stored[1]["at"] == "2026-01-02T00:00:00Z"
    assert all(r["asset_id"] == asset["id"] for r in stored)
    # A bare array is accepted too; without `at` the server's time is used.
    now = ok(await admin.post(url, [{"meter": "hours", "value": 120}]), 201)["items"]
    assert now[0]["at"] > "2026-01-02T00:00:00Z"

    page = ok(await admin.get(url))
    assert [r["value"] for r in page["items"]] == [120, 110.5, 40, 100]  # newest first by time
    hours = ok(await admin.get(url, params={"meter": "hours"}))
    assert [r["value"] for r in hours["items"]] == [120, 110.5, 100]
    window = ok(await admin.get(url, params={"since": "2026-01-01T06:00:00Z", "until": "2026-01-02T06:00:00Z"}))
    assert [r["value"] for r in window["items"]] == [110.5, 40]
    first = ok(await admin.get(url, params={"limit": 3}))
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = ok(await admin.get(url, params={"limit": 3, "cursor": first["next_cursor"]}))
    assert [r["value"] for r in rest["items"]] == [100]
    assert rest["next_cursor"] is None


async def test_readings_are_refused_whole_on_any_bad_item(site: Tenant) -> None:
    admin = site["admin"]
    asset = await new_asset(admin, site.things["plant"], meters=METERS)
    url = f"/api/v1/assets/{asset['id']}/readings"
    bad = {"readings": [{"meter": "hours", "value": 1}, {"meter": "pressure", "value": 2}]}
    assert_problem(await admin.post(url, bad), 422, field="readings.1.meter")
    naive = {"readings": [{"meter": "hours", "value": 1, "at": "2026-01-01T00:00:00"}]}
    assert_problem(await admin.post(url, naive), 422, field="readings.0.at")
    assert_problem(await admin.post(url, {"readings": []}), 422, field="readings")
    assert_problem(
        await admin.post(url, {"readings": [{"meter": "hours", "value": "lots"}]}), 422, field="readings.0.value"
    )
    assert_problem(
        await admin.post(url, {"readings": [{"meter": "hours", "value": 1e300}]}), 422, field="readings.0.value"
    )
    assert ok(await admin.get(url))["items"] == []


async def test_requesters_do_not_record_readings(site: Tenant) -> None:
    asset = await new_asset(site["admin"], site.things["plant"], meters=METERS)
    reply = await site["requester"].post(f"/api/v1/assets/{asset['id']}/readings", [{"meter": "hours", "value": 1}])
    assert_problem(reply, 403)


async def test_reading_on_unknown_asset_is_404(site: Tenant) -> None:
    assert_problem(await site["admin"].post("/api/v1/assets/999999999/readings", [{"meter": "h", "value": 1}]), 404)
    assert_problem(await site["admin"].get("/api/v1/assets/999999999/readings"), 404)


async def test_out_of_range_reading_raises_an_alert(site: Tenant) -> None:
    admin = site["admin"]
    asset = await new_asset(admin, site.things["plant"], meters=METERS)
    url = f"/api/v1/assets/{asset['id']}/readings"
    ok(await admin.post(url, [{"meter": "temp", "value": 50}]), 201)
    assert ok(await admin.get("/api/v1/alerts", params={"asset_id": asset["id"]}))["items"] == []
    ok(await admin.post(url, [{"meter": "temp", "value": 95}, {"meter": "temp", "value": 120}]), 201)
    alerts = ok(await admin.get("/api/v1/alerts", params={"asset_id": asset["id"]}))["items"]
    assert len(alerts) == 1  # one alert for the worst excursion of the batch
    assert alerts[0]["status"] == "open"
    assert "120" in alerts[0]["message"]
    events = await site.sql(
        "SELECT data FROM outbox WHERE type = 'alert:triggered' AND (data->>'asset_id')::bigint = %s", (asset["id"],)
    )
    assert len(events) == 1
    assert events[0]["data"]["asset"]["id"] == asset["id"]
