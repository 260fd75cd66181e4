"""The directory of people: every role reads names; only its own tenant; no e-mails for requesters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.support import PASSWORD, Api, Tenant, assert_problem, ok, unique

ROLES = ["admin", "manager", "technician", "requester"]


async def people(api: Api) -> dict[int, dict[str, Any]]:
    return {p["id"]: p for p in ok(await api.get("/api/v1/directory/users"))["items"]}


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_reads_the_names_of_its_tenant(tenant: Tenant, other: Tenant, role: str) -> None:
    seen = await people(tenant[role])
    for key, user in tenant.users.items():
        assert seen[user["id"]]["name"] == key
        assert seen[user["id"]]["role"] == user["role"]
        assert seen[user["id"]]["active"] is True
    assert not set(seen) & {u["id"] for u in other.users.values()}
    assert all("password_hash" not in p for p in seen.values())


async def test_another_tenant_sees_only_its_own_people(tenant: Tenant, other: Tenant) -> None:
    seen = await people(other["admin"])
    assert set(seen) == {u["id"] for u in other.users.values()}


async def test_requesters_see_no_emails_and_staff_do(tenant: Tenant) -> None:
    for entry in (await people(tenant["requester"])).values():
        assert set(entry) == {"id", "name", "role", "active"}
    technician_view = await people(tenant["technician"])
    manager = tenant.users["manager"]
    assert technician_view[manager["id"]]["email"] == manager["email"]


async def test_a_new_or_changed_user_shows_at_once(tenant: Tenant) -> None:
    """No stale cached copy: the directory follows user changes without waiting."""
    await people(tenant["requester"])
    body = {"email": f"{unique('new')}@example.com", "role": "technician", "password": PASSWORD, "name": "Newcomer"}
    user = ok(await tenant["admin"].post("/api/v1/users", body), 201)
    assert (await people(tenant["requester"]))[user["id"]]["name"] == "Newcomer"
    ok(await tenant["admin"].patch(f"/api/v1/users/{user['id']}", {"name": "Renamed", "active": False}))
    entry = (await people(tenant["requester"]))[user["id"]]
    assert entry["name"] == "Renamed" and entry["active"] is False


async def test_the_directory_needs_a_login(anon: Api) -> None:
    assert_problem(await anon.get("/api/v1/directory/users"), 401)
