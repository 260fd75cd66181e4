"""Work orders over HTTP: creation per role, numbering, lists and filters, visibility, edits and
their field rules, transitions, notes and history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmms.runtime import Runtime
from tests.integration.support import Api, Tenant, assert_problem, make_tenant, ok, unique


@pytest.fixture(scope="module")
async def shop(tenant: Tenant) -> Tenant:
    """The module's tenant with a second technician and requester, a plant and an asset."""
    await tenant.add_user("technician2", "technician")
    await tenant.add_user("requester2", "requester")
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    asset = ok(await admin.post("/api/v1/assets", {"name": "Pump", "plant_id": plant["id"]}), 201)
    tenant.things["plant"], tenant.things["asset"] = plant, asset
    return tenant


async def new_order(api: Api, **fields: Any) -> dict[str, Any]:
    return ok(await api.post("/api/v1/orders", {"title": unique("order"), **fields}), 201)


async def assigned_request(shop: Tenant, **fields: Any) -> dict[str, Any]:
    """A request filed by `requester`, assigned by the admin to `technician`."""
    order = await new_order(shop["requester"], **fields)
    tech = shop["technician"].user_id
    return ok(await shop["admin"].patch(f"/api/v1/orders/{order['id']}", {"assignee_id": tech}))


async def move(api: Api, order_id: int, *statuses: str) -> dict[str, Any]:
    order: dict[str, Any] = {}
    for to in statuses:
        order = ok(await api.post(f"/api/v1/orders/{order_id}/transition", {"to": to}))
        assert order["status"] == to
    return order


# ---- creation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", "open"), ("manager", "open"), ("technician", "requested"), ("requester", "requested")],
)
async def test_create_starts_by_role(shop: Tenant, role: str, status: str) -> None:
    api = shop[role]
    reply = await api.post("/api/v1/orders", {"title": "  Leaking seal  "})
    order = ok(reply, 201)
    assert order["status"] == status
    assert order["title"] == "Leaking seal"
    assert order["version"] == 1
    assert reply.headers["ETag"] == '"1"'
    assert re.fullmatch(r"WO-\d{6}", order["number"]), order["number"]
    assert order["priority"] == "medium" and order["type"] == "corrective"
    assert order["description"] == ""
    assert order["downtime_minutes"] == 0
    assert order["assignee_id"] is None
    assert {"id", "created_at", "updated_at", "allowed_transitions"} <= set(order)
    if role in ("technician", "requester"):
        assert order["requested_by"] == api.user_id


async def test_create_with_every_optional_field(shop: Tenant) -> None:
    asset, plant = shop.things["asset"], shop.things["plant"]
    order = await new_order(
        shop["manager"],
        description="Bearing noise",
        type="inspection",
        priority="critical",
        asset_id=asset["id"],
        assignee_id=shop["technician"].user_id,
        due_at="2030-05-01T12:00:00+02:00",
    )
    assert order["type"] == "inspection"
    assert order["priority"] == "critical"
    assert order["asset_id"] == asset["id"]
    assert order["plant_id"] == plant["id"]  # follows from the asset
    assert order["assignee_id"] == shop["technician"].user_id
    assert order["due_at"] == "2030-05-01T10:00:00Z"  # stored and returned in UTC


async def test_numbers_increase_per_tenant(rt: Runtime, shop: Tenant) -> None:
    numbers = [int((await new_order(shop["admin"]))["number"][3:]) for _ in range(3)]
    assert numbers == sorted(numbers)
    assert numbers[1] == numbers[0] + 1 and numbers[2] == numbers[1] + 1
    fresh = await make_tenant(rt, shop.client, {"admin": "admin"})
    assert (await new_order(fresh["admin"]))["number"] == "WO-000001"
    assert (await new_order(fresh["admin"]))["number"] == "WO-000002"


@pytest.mark.parametrize("role", ["technician", "requester"])
async def test_only_supervisors_assign_on_create(shop: Tenant, role: str) -> None:
    reply = await shop[role].post("/api/v1/orders", {"title": "x", "assignee_id": shop["technician"].user_id})
    assert_problem(reply, 403)


async def test_references_must_exist_in_the_tenant(shop: Tenant, other: Tenant) -> None:
    admin = shop["admin"]
    foreign_plant = ok(await other["admin"].post("/api/v1/plants", {"name": unique("p")}), 201)
    foreign_asset = ok(
        await other["admin"].post("/api/v1/assets", {"name": "Fan", "plant_id": foreign_plant["id"]}), 201
    )
    cases = {
        "asset_id": foreign_asset["id"],
        "plant_id": foreign_plant["id"],
        "assignee_id": other["admin"].user_id,
    }
    for field, value in cases.items():
        assert_problem(await admin.post("/api/v1/orders", {"title": "x", field: value}), 422, field=field)
    assert_problem(await admin.post("/api/v1/orders", {"title": "x", "asset_id": 10**15}), 422, field="asset_id")


async def test_assignee_must_be_active_staff(shop: Tenant) -> None:
    reply = await shop["admin"].post("/api/v1/orders", {"title": "x", "assignee_id": shop["requester"].user_id})
    assert_problem(reply, 422, field="assignee_id")
    leaver = await shop.add_user(unique("leaver"), "technician", log_in=False)
    ok(await shop["admin"].patch(f"/api/v1/users/{leaver.user_id}", {"active": False}))
    reply = await shop["admin"].post("/api/v1/orders", {"title": "x", "assignee_id": leaver.user_id})
    assert_problem(reply, 422, field="assignee_id")


async def test_creation_is_audited_and_published(shop: Tenant) -> None:
    order = await new_order(shop["manager"])
    events = await shop.sql(
        "SELECT type, data FROM outbox WHERE type = 'order:created' AND (data->>'id')::bigint = %s", (order["id"],)
    )
    assert len(events) == 1
    assert events[0]["data"]["number"] == order["number"]
    audit = await shop.sql(
        "SELECT action, actor_id FROM audit_log WHERE entity = 'order' AND entity_id = %s", (order["id"],)
    )
    assert audit == [{"action": "create", "actor_id": shop["manager"].user_id}]


# ---- reading -----------------------------------------------------------------------------------------


async def test_get_includes_allowed_transitions_for_the_caller(shop: Tenant) -> None:
    order = await assigned_request(shop)
    url = f"/api/v1/orders/{order['id']}"
    expect = {
        "admin": ["open", "cancelled"],
        "manager": ["open", "cancelled"],
        "technician": [],
        "technician2": [],
        "requester": ["cancelled"],
    }
    for who, allowed in expect.items():
        reply = await shop[who].get(url)
        assert ok(reply)["allowed_transitions"] == allowed, who
        assert reply.headers["ETag"] == f'"{order["version"]}"'
    await move(shop["admin"], order["id"], "open")
    expect = {
        "admin": ["in_progress", "cancelled"],
        "technician": ["in_progress"],
        "technician2": [],
        "requester": [],
    }
    for who, allowed in expect.items():
        assert ok(await shop[who].get(url))["allowed_transitions"] == allowed, who


async def test_unknown_order_is_404(shop: Tenant) -> None:
    assert_problem(await shop["admin"].get("/api/v1/orders/999999999"), 404)


async def test_requester_sees_only_their_own_orders(shop: Tenant) -> None:
    mine = await new_order(shop["requester"])
    theirs = await new_order(shop["requester2"])
    staff = await new_order(shop["manager"])
    me = shop["requester"]
    listed = ok(await me.get("/api/v1/orders", params={"limit": 200}))
    ids = {o["id"] for o in listed["items"]}
    assert mine["id"] in ids
    assert theirs["id"] not in ids and staff["id"] not in ids
    assert all(o["requested_by"] == me.user_id for o in listed["items"])
    # Asking for somebody else's requests explicitly does not widen the view.
    spying = ok(await me.get("/api/v1/orders", params={"requested_by": shop["requester2"].user_id}))
    assert all(o["requested_by"] == me.user_id for o in spying["items"])
    ok(await me.get(f"/api/v1/orders/{mine['id']}"))
    for order in (theirs, staff):
        url = f"/api/v1/orders/{order['id']}"
        assert_problem(await me.get(url), 404)
        assert_problem(await me.patch(url, {"title": "mine now"}), 404)
        assert_problem(await me.post(f"{url}/transition", {"to": "cancelled"}), 404)
        assert_problem(await me.post(f"{url}/notes", {"body": "hello"}), 404)
        assert_problem(await me.get(f"{url}/notes"), 404)
        assert_problem(await me.get(f"{url}/history"), 404)
    # Staff see everything.
    staff_ids = {o["id"] for o in ok(await shop["technician2"].get("/api/v1/orders", params={"limit": 200}))["items"]}
    assert {mine["id"], theirs["id"], staff["id"]} <= staff_ids


async def test_list_filters(shop: Tenant) -> None:
    tag = unique("filter")
    admin, asset = shop["admin"], shop.things["asset"]
    tech = shop["technician"].user_id
    a = await new_order(admin, title=f"{tag} alpha", priority="high", asset_id=asset["id"], assignee_id=tech)
    b = await new_order(admin, title=f"{tag} beta", priority="low")
    c = await new_order(shop["requester"], title=f"{tag} gamma", priority="high")
    await move(admin, a["id"], "in_progress")

    async def ids(**params: Any) -> set[int]:
        page = ok(await admin.get("/api/v1/orders", params={"q": tag, "limit": 200, **params}))
        return {o["id"] for o in page["items"]}

    assert await ids() == {a["id"], b["id"], c["id"]}
    assert await ids(q=f"{tag} BETA") == {b["id"]}  # case-insensitive title search
    assert await ids(status="in_progress") == {a["id"]}
    assert await ids(status="in_progress,requested") == {a["id"], c["id"]}
    assert await ids(status="open") == {b["id"]}
    assert await ids(priority="high") == {a["id"], c["id"]}
    assert await ids(priority="low,medium") == {b["id"]}
    assert await ids(asset_id=asset["id"]) == {a["id"]}
    assert await ids(plant_id=shop.things["plant"]["id"]) == {a["id"]}
    assert await ids(assignee_id=tech) == {a["id"]}
    assert await ids(assignee_id=tech, status="open") == set()
    assert await ids(q=unique("nothing-matches")) == set()
    by_number = ok(await admin.get("/api/v1/orders", params={"q": b["number"]}))["items"]
    assert b["id"] in {o["id"] for o in by_number}


async def test_search_treats_wildcards_literally(shop: Tenant) -> None:
    tag = unique("wild")
    literal = await new_order(shop["admin"], title=f"{tag} 100%_done")
    await new_order(shop["admin"], title=f"{tag} 1000 done")
    page = ok(await shop["admin"].get("/api/v1/orders", params={"q": "100%_d"}))
    assert {o["id"] for o in page["items"]} == {literal["id"]}


async def test_list_paginates_newest_first(shop: Tenant) -> None:
    tag = unique("page")
    created = [(await new_order(shop["admin"], title=f"{tag} {i}"))["id"] for i in range(5)]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"q": tag, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = ok(await shop["admin"].get("/api/v1/orders", params=params))
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)


# ---- edits ------------------------------------------------------------------------------------------


async def test_patch_with_if_match(shop: Tenant) -> None:
    order = await new_order(shop["manager"])
    url = f"/api/v1/orders/{order['id']}"
    reply = await shop["manager"].patch(url, {"priority": "high"}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["priority"] == "high"
    assert changed["version"] == 2
    assert reply.headers["ETag"] == '"2"'
    assert_problem(await shop["manager"].patch(url, {"priority": "low"}, headers={"If-Match": '"1"'}), 412)
    assert ok(await shop["manager"].get(url))["priority"] == "high"


async def test_patch_field_rules(shop: Tenant) -> None:
    order = await assigned_request(shop)
    url = f"/api/v1/orders/{order['id']}"
    # While it is a request, its requester may edit what they filed.
    assert ok(await shop["requester"].patch(url, {"title": "Better title", "priority": "high"}))["priority"] == "high"
    assert_problem(await shop["requester"].patch(url, {"assignee_id": shop["technician2"].user_id}), 403)
    assert_problem(await shop["requester"].patch(url, {"due_at": "2030-01-01T00:00:00Z"}), 403)
    await move(shop["admin"], order["id"], "open")
    assert_problem(await shop["requester"].patch(url, {"description": "too late"}), 403)
    # The assignee may record their work, not re-plan it.
    tech = shop["technician"]
    assert ok(await tech.patch(url, {"description": "Replaced seal", "downtime_minutes": 45}))["downtime_minutes"] == 45
    for field, value in {"title": "x", "priority": "low", "assignee_id": tech.user_id, "type": "emergency"}.items():
        assert_problem(await tech.patch(url, {field: value}), 403, field=field)
    # Another technician may not touch it.
    assert_problem(await shop["technician2"].patch(url, {"description": "mine"}), 403)
    # Supervisors may change everything editable.
    changed = ok(
        await shop["manager"].patch(
            url,
            {
                "title": "Seal",
                "type": "emergency",
                "priority": "critical",
                "assignee_id": shop["technician2"].user_id,
                "due_at": "2031-01-01T00:00:00Z",
                "asset_id": shop.things["asset"]["id"],
            },
        )
    )
    assert changed["assignee_id"] == shop["technician2"].user_id
    assert changed["plant_id"] == shop.things["plant"]["id"]
    assert changed["title"] == "Seal"


async def test_status_and_number_are_not_patchable(shop: Tenant) -> None:
    order = await new_order(shop["admin"])
    url = f"/api/v1/orders/{order['id']}"
    for field, value in {"status": "closed", "number": "WO-999999", "requested_by": 1, "version": 9}.items():
        assert_problem(await shop["admin"].patch(url, {field: value}), 422, field=field)
    assert ok(await shop["admin"].get(url)) == order


async def test_rejected_patch_writes_nothing(shop: Tenant) -> None:
    order = await assigned_request(shop)
    await move(shop["admin"], order["id"], "open")
    url = f"/api/v1/orders/{order['id']}"
    before = ok(await shop["admin"].get(url))
    # Refused by the field rules: the allowed field in the same body is not written either.
    assert_problem(await shop["technician"].patch(url, {"description": "half", "title": "written?"}), 403)
    # Refused by a reference check after other fields were accepted.
    reply = await shop["admin"].patch(url, {"title": "half", "assignee_id": shop["requester"].user_id})
    assert_problem(reply, 422, field="assignee_id")
    # Refused by validation.
    assert_problem(
        await shop["admin"].patch(url, {"title": "half", "downtime_minutes": -5}), 422, field="downtime_minutes"
    )
    assert_problem(await shop["admin"].patch(url, {"title": None}), 422, field="title")
    assert ok(await shop["admin"].get(url)) == before


@pytest.mark.parametrize("final", ["closed", "cancelled"])
async def test_closed_and_cancelled_orders_are_frozen(shop: Tenant, final: str) -> None:
    order = await new_order(shop["admin"])
    path = ["in_progress", "completed", "closed"] if final == "closed" else ["cancelled"]
    await move(shop["admin"], order["id"], *path)
    assert_problem(await shop["admin"].patch(f"/api/v1/orders/{order['id']}", {"description": "late"}), 409)


async def test_update_is_published_with_changed_fields(shop: Tenant) -> None:
    order = await new_order(shop["admin"])
    ok(await shop["admin"].patch(f"/api/v1/orders/{order['id']}", {"priority": "low", "description": "d"}))
    events = await shop.sql(
        "SELECT data FROM outbox WHERE type = 'order:updated' AND (data->>'id')::bigint = %s", (order["id"],)
    )
    assert [e["data"]["changed"] for e in events] == [["description", "priority"]]


# ---- transitions ------------------------------------------------------------------------------------


async def test_transition_returns_the_new_order_with_stamps(shop: Tenant) -> None:
    order = await assigned_request(shop)
    oid = order["id"]
    admin, tech = shop["admin"], shop["technician"]
    opened = await move(admin, oid, "open")
    assert opened["version"] == order["version"] + 1
    assert opened["started_at"] is None
    started = await move(tech, oid, "in_progress")
    assert started["started_at"] is not None
    assert started["allowed_transitions"] == ["on_hold", "completed"]
    held = await move(tech, oid, "on_hold")
    resumed = await move(tech, oid, "in_progress")
    assert resumed["started_at"] == started["started_at"] == held["started_at"]  # the first start is kept
    done = await move(tech, oid, "completed")
    assert done["completed_at"] is not None
    assert done["allowed_transitions"] == []
    reopened = await move(shop["manager"], oid, "open")
    assert reopened["completed_at"] is None
    await move(tech, oid, "in_progress", "completed")
    closed = await move(admin, oid, "closed")
    assert closed["closed_at"] is not None
    assert closed["allowed_transitions"] == []


async def test_transition_not_in_the_workflow_is_409(shop: Tenant) -> None:
    order = await new_order(shop["admin"])
    url = f"/api/v1/orders/{order['id']}/transition"
    for to in ("completed", "closed", "requested", "open", "on_hold"):
        assert_problem(await shop["admin"].post(url, {"to": to}), 409)
    assert ok(await shop["admin"].get(f"/api/v1/orders/{order['id']}"))["status"] == "open"


async def test_transition_forbidden_for_the_role_is_403(shop: Tenant) -> None:
    order = await assigned_request(shop)
    url = f"/api/v1/orders/{order['id']}/transition"
    assert_problem(await shop["technician"].post(url, {"to": "open"}), 403)
    assert_problem(await shop["requester"].post(url, {"to": "open"}), 403)
    assert ok(await shop["admin"].get(f"/api/v1/orders/{order['id']}"))["status"] == "requested"


async def test_transition_with_stale_if_match_is_412(shop: Tenant) -> None:
    order = await new_order(shop["admin"])
    await move(shop["admin"], order["id"], "in_progress")
    reply = await shop["admin"].post(
        f"/api/v1/orders/{order['id']}/transition", {"to": "on_hold"}, headers={"If-Match": '"1"'}
    )
    assert_problem(reply, 412)


async def test_transition_note_is_kept(shop: Tenant) -> None:
    order = await new_order(shop["admin"])
    url = f"/api/v1/orders/{order['id']}"
    ok(await shop["admin"].post(f"{url}/transition", {"to": "cancelled", "note": "Duplicate of another order"}))
    notes = ok(await shop["admin"].get(f"{url}/notes"))["items"]
    assert [n["body"] for n in notes] == ["Duplicate of another order"]


# ---- notes and history --------------------------------------------------------------------------------


async def test_notes(shop: Tenant) -> None:
    order = await assigned_request(shop)
    url = f"/api/v1/orders/{order['id']}/notes"
    note = ok(await shop["requester"].post(url, {"body": "  It drips since Monday  "}), 201)
    assert note["body"] == "It drips since Monday"
    assert note["order_id"] == order["id"]
    assert note["author_id"] == shop["requester"].user_id
    assert {"id", "created_at"} <= set(note)
    ok(await shop["technician"].post(url, {"body": "On my way"}), 201)
    ok(await shop["manager"].post(url, {"body": "Approved"}), 201)
    assert_problem(await shop["technician2"].post(url, {"body": "not mine"}), 403)
    assert_problem(await shop["requester"].post(url, {"body": "   "}), 422, field="body")
    page = ok(await shop["technician2"].get(url))
    assert [n["body"] for n in page["items"]] == ["Approved", "On my way", "It drips since Monday"]
    first = ok(await shop["admin"].get(url, params={"limit": 2}))
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = ok(await shop["admin"].get(url, params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [n["body"] for n in rest["items"]] == ["It drips since Monday"]


async def test_history_is_the_orders_audit_trail(shop: Tenant) -> None:
    order = await assigned_request(shop)
    oid = order["id"]
    await move(shop["admin"], oid, "open")
    ok(await shop["admin"].post(f"/api/v1/orders/{oid}/notes", {"body": "n"}), 201)
    other_order = await new_order(shop["admin"])
    page = ok(await shop["requester"].get(f"/api/v1/orders/{oid}/history"))
    items = page["items"]
    assert all(e["entity"] == "order" and e["entity_id"] == oid for e in items)
    assert other_order["id"] not in {e["entity_id"] for e in items}
    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True)  # newest first
    actions = [e["action"] for e in reversed(items)]
    assert actions[0] == "create"
    transition = next(e for e in items if "status" in e["changes"])
    assert transition["changes"]["status"] == ["requested", "open"]
    assert transition["actor_id"] == shop["admin"].user_id
    assert any(e["changes"].get("assignee_id") for e in items)
    assert all(e["at"].endswith("Z") for e in items)
