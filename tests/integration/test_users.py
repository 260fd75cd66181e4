"""Users: admins manage them, supervisors list them, everyone sees themselves."""

from __future__ import annotations

import pytest

from cmms.runtime import Runtime
from tests.integration.support import PASSWORD, Tenant, assert_problem, login, make_tenant, ok, unique


def new_user(role: str = "technician", **extra: str) -> dict[str, str]:
    return {"email": f"{unique('u')}@example.com", "role": role, "password": PASSWORD, "name": "Ann", **extra}


async def test_admin_creates_a_user_who_can_log_in(tenant: Tenant) -> None:
    body = new_user("technician", email=f"{unique('Mixed')}@Example.COM")
    reply = await tenant["admin"].post("/api/v1/users", body)
    user = ok(reply, 201)
    assert user["email"] == body["email"].lower()
    assert user["role"] == "technician"
    assert user["active"] is True
    assert user["version"] == 1
    assert reply.headers["ETag"] == '"1"'
    assert {"id", "created_at", "updated_at"} <= set(user)
    assert "password_hash" not in user and "password" not in user
    api = await login(tenant.client, tenant.name, body["email"])
    assert api.user_id == user["id"]


@pytest.mark.parametrize("role", ["manager", "technician", "requester"])
async def test_only_admins_create_users(tenant: Tenant, role: str) -> None:
    assert_problem(await tenant[role].post("/api/v1/users", new_user()), 403)


async def test_duplicate_email_is_409_naming_the_field(tenant: Tenant) -> None:
    body = new_user()
    ok(await tenant["admin"].post("/api/v1/users", body), 201)
    assert_problem(await tenant["admin"].post("/api/v1/users", body), 409, field="email")
    shouted = {**body, "email": body["email"].upper()}
    assert_problem(await tenant["admin"].post("/api/v1/users", shouted), 409, field="email")


async def test_the_same_email_may_exist_in_two_tenants(tenant: Tenant, other: Tenant) -> None:
    body = new_user()
    ok(await tenant["admin"].post("/api/v1/users", body), 201)
    ok(await other["admin"].post("/api/v1/users", body), 201)


@pytest.mark.parametrize("role", ["admin", "manager"])
async def test_supervisors_list_users_of_their_tenant_only(tenant: Tenant, other: Tenant, role: str) -> None:
    page = ok(await tenant[role].get("/api/v1/users", params={"limit": 200}))
    ids = {u["id"] for u in page["items"]}
    assert {u["id"] for u in tenant.users.values()} <= ids
    assert not ids & {u["id"] for u in other.users.values()}
    assert all("password_hash" not in u for u in page["items"])


async def test_requesters_cannot_list_users(tenant: Tenant) -> None:
    assert_problem(await tenant["requester"].get("/api/v1/users"), 403)


async def test_technicians_see_their_colleagues(tenant: Tenant) -> None:
    listed = ok(await tenant["technician"].get("/api/v1/users"))["items"]
    assert tenant["manager"].user_id in {u["id"] for u in listed}
    assert all("password_hash" not in u for u in listed)


async def test_list_filters_by_role_and_paginates(tenant: Tenant) -> None:
    for _ in range(3):
        ok(await tenant["admin"].post("/api/v1/users", new_user("requester")), 201)
    admin = tenant["admin"]
    first = ok(await admin.get("/api/v1/users", params={"role": "requester", "limit": 2}))
    assert len(first["items"]) == 2
    assert all(u["role"] == "requester" for u in first["items"])
    assert first["next_cursor"]
    second = ok(
        await admin.get("/api/v1/users", params={"role": "requester", "limit": 2, "cursor": first["next_cursor"]})
    )
    assert second["items"]
    assert not {u["id"] for u in first["items"]} & {u["id"] for u in second["items"]}
    assert max(u["id"] for u in second["items"]) < min(u["id"] for u in first["items"])  # newest first


async def test_requesters_see_themselves_but_not_others(tenant: Tenant) -> None:
    requester = tenant["requester"]
    assert ok(await requester.get(f"/api/v1/users/{requester.user_id}"))["id"] == requester.user_id
    assert_problem(await requester.get(f"/api/v1/users/{tenant['manager'].user_id}"), 403)
    tech = tenant["technician"]
    assert ok(await tech.get(f"/api/v1/users/{tenant['manager'].user_id}"))["id"] == tenant["manager"].user_id


async def test_unknown_user_is_404(tenant: Tenant) -> None:
    assert_problem(await tenant["admin"].get("/api/v1/users/999999999"), 404)


async def test_admin_updates_a_user_with_if_match(tenant: Tenant) -> None:
    admin = tenant["admin"]
    user = ok(await admin.post("/api/v1/users", new_user()), 201)
    reply = await admin.patch(f"/api/v1/users/{user['id']}", {"name": "Bea"}, headers={"If-Match": '"1"'})
    changed = ok(reply)
    assert changed["name"] == "Bea"
    assert changed["version"] == 2
    assert reply.headers["ETag"] == '"2"'
    stale = await admin.patch(f"/api/v1/users/{user['id']}", {"name": "Cy"}, headers={"If-Match": '"1"'})
    assert_problem(stale, 412)
    assert ok(await admin.get(f"/api/v1/users/{user['id']}"))["name"] == "Bea"


@pytest.mark.parametrize("role", ["manager", "technician", "requester"])
async def test_only_admins_update_users(tenant: Tenant, role: str) -> None:
    target = tenant.users["requester"]["id"]
    assert_problem(await tenant[role].patch(f"/api/v1/users/{target}", {"name": "Hacked"}), 403)


async def test_admin_cannot_deactivate_themselves(tenant: Tenant) -> None:
    admin = tenant["admin"]
    assert_problem(await admin.patch(f"/api/v1/users/{admin.user_id}", {"active": False}), 409, field="active")
    ok(await admin.get("/api/v1/me"))


async def test_admin_cannot_demote_themselves(tenant: Tenant, rt: Runtime) -> None:
    """Like deactivating oneself, giving up one's own admin role can leave the tenant without one."""
    fresh = await make_tenant(rt, tenant.client, {"admin": "admin"})
    admin = fresh["admin"]
    reply = await admin.patch(f"/api/v1/users/{admin.user_id}", {"role": "manager"})
    assert_problem(reply, 409, field="role")
    assert ok(await admin.get("/api/v1/me"))["role"] == "admin"


async def test_patch_refuses_unknown_role(tenant: Tenant) -> None:
    target = tenant.users["requester"]["id"]
    assert_problem(await tenant["admin"].patch(f"/api/v1/users/{target}", {"role": "owner"}), 422, field="role")
