"""Plants: CRUD, ETag/If-Match, roles, pagination, delete guarded by assets, audit and outbox rows."""

from __future__ import annotations

import pytest

from tests.integration.support import Tenant, assert_problem, ok, unique


async def create_plant(tenant: Tenant, **extra: object) -> dict[str, object]:
    return ok(await tenant["admin"].post("/api/v1/plants", {"name": unique("plant"), **extra}), 201)


async def test_crud_with_etags(tenant: Tenant) -> None:
    admin = tenant["admin"]
    name = unique("Plant North")
    reply = await admin.post("/api/v1/plants", {"name": name, "code": "PN", "address": "1 Main St"})
    plant = ok(reply, 201)
    assert reply.headers["ETag"] == '"1"'
    assert plant["name"] == name
    assert plant["timezone"] == "UTC"
    assert plant["version"] == 1
    assert plant["created_at"].endswith("Z") and plant["updated_at"].endswith("Z")
    url = f"/api/v1/plants/{plant['id']}"

    got = await admin.get(url)
    assert ok(got) == plant
    assert got.headers["ETag"] == '"1"'

    listed = ok(await tenant["technician"].get("/api/v1/plants", params={"limit": 200}))
    assert plant["id"] in {p["id"] for p in listed["items"]}

    reply = await admin.patch(url, {"address": "2 Side St"}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["address"] == "2 Side St"
    assert changed["name"] == name  # untouched fields stay
    assert changed["version"] == 2
    assert reply.headers["ETag"] == '"2"'

    assert_problem(await admin.patch(url, {"address": "stale"}, headers={"If-Match": '"1"'}), 412)
    assert_problem(await admin.delete(url, headers={"If-Match": '"1"'}), 412)
    assert ok(await admin.get(url))["address"] == "2 Side St"

    ok(await admin.delete(url, headers={"If-Match": '"2"'}), 204)
    assert_problem(await admin.get(url), 404)
    assert_problem(await admin.patch(url, {"address": "gone"}), 404)
    assert_problem(await admin.delete(url), 404)


async def test_if_match_forms(tenant: Tenant) -> None:
    plant = await create_plant(tenant)
    url = f"/api/v1/plants/{plant['id']}"
    admin = tenant["admin"]
    assert ok(await admin.patch(url, {"code": "A"}, headers={"If-Match": 'W/"1"'}))["version"] == 2
    assert ok(await admin.patch(url, {"code": "B"}, headers={"If-Match": "*"}))["version"] == 3
    assert ok(await admin.patch(url, {"code": "C"}))["version"] == 4  # no If-Match: last write wins
    assert_problem(await admin.patch(url, {"code": "D"}, headers={"If-Match": '"abc"'}), 422, field="If-Match")
    assert ok(await admin.get(url))["code"] == "C"


async def test_empty_patch_changes_nothing(tenant: Tenant) -> None:
    plant = await create_plant(tenant)
    same = ok(await tenant["admin"].patch(f"/api/v1/plants/{plant['id']}", {}))
    assert same["version"] == 1
    assert same == plant


async def test_patch_can_clear_an_optional_field(tenant: Tenant) -> None:
    plant = await create_plant(tenant, code="X1")
    cleared = ok(await tenant["admin"].patch(f"/api/v1/plants/{plant['id']}", {"code": None}))
    assert cleared["code"] is None


async def test_manager_manages_plants(tenant: Tenant) -> None:
    manager = tenant["manager"]
    plant = ok(await manager.post("/api/v1/plants", {"name": unique("mgr")}), 201)
    ok(await manager.patch(f"/api/v1/plants/{plant['id']}", {"code": "M"}))
    ok(await manager.delete(f"/api/v1/plants/{plant['id']}"), 204)


@pytest.mark.parametrize("role", ["technician", "requester"])
async def test_others_read_but_do_not_change_plants(tenant: Tenant, role: str) -> None:
    plant = await create_plant(tenant)
    api = tenant[role]
    ok(await api.get(f"/api/v1/plants/{plant['id']}"))
    ok(await api.get("/api/v1/plants"))
    assert_problem(await api.post("/api/v1/plants", {"name": unique("nope")}), 403)
    assert_problem(await api.patch(f"/api/v1/plants/{plant['id']}", {"code": "no"}), 403)
    assert_problem(await api.delete(f"/api/v1/plants/{plant['id']}"), 403)
    assert ok(await tenant["admin"].get(f"/api/v1/plants/{plant['id']}")) == plant


async def test_duplicate_name_is_409(tenant: Tenant) -> None:
    plant = await create_plant(tenant)
    assert_problem(await tenant["admin"].post("/api/v1/plants", {"name": plant["name"]}), 409, field="name")
    other = await create_plant(tenant)
    reply = await tenant["admin"].patch(f"/api/v1/plants/{other['id']}", {"name": plant["name"]})
    assert_problem(reply, 409, field="name")


async def test_same_name_in_another_tenant_is_fine(tenant: Tenant, other: Tenant) -> None:
    plant = await create_plant(tenant)
    ok(await other["admin"].post("/api/v1/plants", {"name": plant["name"]}), 201)


async def test_rejected_patch_leaves_the_row_untouched(tenant: Tenant) -> None:
    """A PATCH that fails on its second field (in the database) writes nothing of the first."""
    taken = await create_plant(tenant)
    plant = await create_plant(tenant, address="Old address")
    url = f"/api/v1/plants/{plant['id']}"
    reply = await tenant["admin"].patch(url, {"address": "New address", "name": taken["name"]})
    assert_problem(reply, 409)
    assert_problem(await tenant["admin"].patch(url, {"address": "New", "timezone": 5}), 422, field="timezone")
    assert ok(await tenant["admin"].get(url)) == plant


async def test_delete_with_assets_is_409(tenant: Tenant) -> None:
    plant = await create_plant(tenant)
    await tenant.sql(
        "INSERT INTO assets (tenant_id, plant_id, name) VALUES (%s, %s, %s) RETURNING id",
        (tenant.id, plant["id"], "Pump 1"),
    )
    assert_problem(await tenant["admin"].delete(f"/api/v1/plants/{plant['id']}"), 409)
    assert ok(await tenant["admin"].get(f"/api/v1/plants/{plant['id']}"))["id"] == plant["id"]


async def test_delete_with_work_orders_is_409(tenant: Tenant) -> None:
    """A plant that work orders name (without any asset) is in use: a conflict, not a validation error."""
    plant = await create_plant(tenant)
    order = ok(await tenant["admin"].post("/api/v1/orders", {"title": "Roof leak", "plant_id": plant["id"]}), 201)
    assert order["plant_id"] == plant["id"]
    assert_problem(await tenant["admin"].delete(f"/api/v1/plants/{plant['id']}"), 409)
    assert ok(await tenant["admin"].get(f"/api/v1/plants/{plant['id']}"))["id"] == plant["id"]


async def test_pagination_newest_first_without_overlap(tenant: Tenant, other: Tenant) -> None:
    created = [await create_plant(other) for _ in range(5)]
    admin = other["admin"]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = ok(await admin.get("/api/v1/plants", params=params))
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 50
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen))
    assert {p["id"] for p in created} <= set(seen)
    assert ok(await admin.get("/api/v1/plants", params={"limit": 200}))["next_cursor"] is None


async def test_mutations_write_audit_and_outbox_rows(tenant: Tenant) -> None:
    plant = await create_plant(tenant)
    ok(await tenant["admin"].patch(f"/api/v1/plants/{plant['id']}", {"code": "AUD"}))
    audit = await tenant.sql(
        "SELECT action, actor_id, changes FROM audit_log WHERE entity = 'plant' AND entity_id = %s ORDER BY id",
        (plant["id"],),
    )
    assert [a["action"] for a in audit] == ["create", "update"]
    assert all(a["actor_id"] == tenant["admin"].user_id for a in audit)
    assert audit[1]["changes"] == {"code": [None, "AUD"]}
    events = await tenant.sql(
        "SELECT type, data FROM outbox WHERE type LIKE 'plant:%%' AND (data->>'id')::bigint = %s ORDER BY seq",
        (plant["id"],),
    )
    assert [e["type"] for e in events] == ["plant:created", "plant:updated"]
    assert events[1]["data"]["changed"] == ["code"]
