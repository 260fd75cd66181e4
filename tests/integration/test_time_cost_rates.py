"""Hourly rates: managers and admins set them, as money strings; requesters have none."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.support import Tenant, assert_problem, ok


async def test_supervisors_set_rates_as_money_strings(tenant: Tenant) -> None:
    tech_id = tenant["technician"].user_id
    for who, rate in (("manager", "42.5"), ("admin", "45.00")):
        user = ok(await tenant[who].patch(f"/api/v1/users/{tech_id}", {"hourly_rate": rate}))
        assert user["hourly_rate"] == f"{float(rate):.2f}"
    [row] = await tenant.sql("SELECT hourly_rate::text AS rate FROM users WHERE id = %s", (tech_id,))
    assert row["rate"] == "45.00"
    audit = await tenant.sql(
        "SELECT changes FROM audit_log WHERE entity = 'user' AND entity_id = %s ORDER BY id DESC LIMIT 1", (tech_id,)
    )
    assert audit[0]["changes"]["hourly_rate"] == ["42.50", "45.00"]
    # A manager may set only the rate; anything else stays the admin's.
    reply = await tenant["manager"].patch(f"/api/v1/users/{tech_id}", {"hourly_rate": "40.00", "name": "x"})
    assert_problem(reply, 403)
    assert_problem(await tenant["technician"].patch(f"/api/v1/users/{tech_id}", {"hourly_rate": "99.00"}), 403)


@pytest.mark.parametrize("rate", [-1, "-1.00", 12.5, 12, "12.505", "abc", "1e3", "", " 12.00", "99999999999.00"])
async def test_bad_rates_name_the_field_and_write_nothing(tenant: Tenant, rate: Any) -> None:
    tech_id = tenant["technician"].user_id
    before = ok(await tenant["admin"].get(f"/api/v1/users/{tech_id}"))
    assert_problem(await tenant["admin"].patch(f"/api/v1/users/{tech_id}", {"hourly_rate": rate}), 422, "hourly_rate")
    assert ok(await tenant["admin"].get(f"/api/v1/users/{tech_id}")) == before


async def test_requesters_have_no_rate(tenant: Tenant) -> None:
    requester_id = tenant["requester"].user_id
    reply = await tenant["admin"].patch(f"/api/v1/users/{requester_id}", {"hourly_rate": "30.00"})
    assert_problem(reply, 422, field="hourly_rate")
    [row] = await tenant.sql("SELECT hourly_rate FROM users WHERE id = %s", (requester_id,))
    assert row["hourly_rate"] is None


async def test_colleagues_do_not_see_each_others_rates(tenant: Tenant) -> None:
    tech_id, manager_id = tenant["technician"].user_id, tenant["manager"].user_id
    ok(await tenant["admin"].patch(f"/api/v1/users/{manager_id}", {"hourly_rate": "55.00"}))
    ok(await tenant["admin"].patch(f"/api/v1/users/{tech_id}", {"hourly_rate": "41.00"}))
    assert ok(await tenant["technician"].get(f"/api/v1/users/{manager_id}"))["hourly_rate"] is None
    assert ok(await tenant["technician"].get(f"/api/v1/users/{tech_id}"))["hourly_rate"] == "41.00"
    listed = {u["id"]: u["hourly_rate"] for u in ok(await tenant["technician"].get("/api/v1/users"))["items"]}
    assert listed[manager_id] is None and listed[tech_id] == "41.00"
    assert ok(await tenant["manager"].get(f"/api/v1/users/{tech_id}"))["hourly_rate"] == "41.00"
