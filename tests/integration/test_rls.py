"""Row-level security: the pool's role sees one tenant's rows even when a query forgets the filter."""

from __future__ import annotations

import psycopg2
import pytest
from aiohttp.test_utils import TestClient

from cmms.db.pool import fetchall, fetchone, transaction
from cmms.domain.model import PlantIn
from cmms.runtime import Runtime
from cmms.services import plants
from tests.integration.support import Tenant, make_tenant, unique

RLS_TABLES = [
    "users",
    "refresh_tokens",
    "plants",
    "assets",
    "meter_readings",
    "plans",
    "work_orders",
    "order_notes",
    "alerts",
    "audit_log",
    "outbox",
]


@pytest.fixture(scope="module")
async def two_with_plants(rt: Runtime, client: TestClient) -> tuple[Tenant, Tenant]:
    """Two tenants with a user and two plants each (no logins needed here)."""
    tenant, other = await make_tenant(rt, client, {}), await make_tenant(rt, client, {})
    for t in (tenant, other):
        await t.add_user("admin", "admin", log_in=False)
        for _ in range(2):
            await plants.create(t.rt.deps, t.operator, PlantIn(name=unique("rls")))
    return tenant, other


async def test_unfiltered_query_sees_only_the_current_tenant(
    rt: Runtime, two_with_plants: tuple[Tenant, Tenant]
) -> None:
    a, b = two_with_plants
    async with transaction(rt.deps.pool, a.id) as cur:
        rows = await fetchall(cur, "SELECT tenant_id FROM plants")
    assert rows, "tenant A has plants"
    assert {r["tenant_id"] for r in rows} == {a.id}
    async with transaction(rt.deps.pool, b.id) as cur:
        rows = await fetchall(cur, "SELECT tenant_id FROM plants")
    assert {r["tenant_id"] for r in rows} == {b.id}


@pytest.mark.parametrize("table", RLS_TABLES)
async def test_every_tenant_table_is_isolated(rt: Runtime, two_with_plants: tuple[Tenant, Tenant], table: str) -> None:
    a, _ = two_with_plants
    async with transaction(rt.deps.pool, a.id) as cur:
        rows = await fetchall(cur, f"SELECT DISTINCT tenant_id FROM {table}")
    assert {r["tenant_id"] for r in rows} <= {a.id}


@pytest.mark.parametrize("table", RLS_TABLES)
async def test_no_tenant_set_sees_no_rows(rt: Runtime, two_with_plants: tuple[Tenant, Tenant], table: str) -> None:
    async with transaction(rt.deps.pool, None) as cur:
        row = await fetchone(cur, f"SELECT count(*) AS n FROM {table}")
    assert row == {"n": 0}


async def test_the_owner_role_does_see_both_tenants(rt: Runtime, two_with_plants: tuple[Tenant, Tenant]) -> None:
    """The control for the tests above: the rows of both tenants really are in the table."""
    a, b = two_with_plants
    conn = psycopg2.connect(rt.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT DISTINCT tenant_id FROM plants WHERE tenant_id IN (%s, %s)", (a.id, b.id))
            assert {r[0] for r in cur.fetchall()} == {a.id, b.id}
    finally:
        conn.close()


async def test_pool_role_cannot_bypass_rls(rt: Runtime) -> None:
    async with transaction(rt.deps.pool, None) as cur:
        row = await fetchone(
            cur,
            "SELECT current_user AS who, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user",
        )
    assert row == {"who": "cmms_app", "rolbypassrls": False, "rolsuper": False}


async def test_writing_into_another_tenant_is_refused(rt: Runtime, two_with_plants: tuple[Tenant, Tenant]) -> None:
    a, b = two_with_plants
    with pytest.raises(psycopg2.Error, match="row-level security"):
        async with transaction(rt.deps.pool, a.id) as cur:
            await cur.execute("INSERT INTO plants (tenant_id, name) VALUES (%s, %s)", (b.id, unique("smuggled")))


async def test_updates_cannot_reach_another_tenant(rt: Runtime, two_with_plants: tuple[Tenant, Tenant]) -> None:
    a, b = two_with_plants
    async with transaction(rt.deps.pool, a.id) as cur:
        await cur.execute("UPDATE plants SET address = 'pwned' WHERE tenant_id = %s", (b.id,))
        assert cur.rowcount == 0
        await cur.execute("DELETE FROM plants WHERE tenant_id = %s", (b.id,))
        assert cur.rowcount == 0
    async with transaction(rt.deps.pool, b.id) as cur:
        rows = await fetchall(cur, "SELECT address FROM plants")
    assert rows and all(r["address"] != "pwned" for r in rows)


async def test_tenant_setting_does_not_leak_to_the_next_transaction(
    rt: Runtime, two_with_plants: tuple[Tenant, Tenant]
) -> None:
    a, _ = two_with_plants
    for _ in range(rt.settings.database.pool_max + 1):  # cycle through the pooled connections
        async with transaction(rt.deps.pool, a.id) as cur:
            await cur.execute("SELECT 1")
    async with transaction(rt.deps.pool, None) as cur:
        row = await fetchone(cur, "SELECT current_setting('cmms.tenant_id', true) AS t, count(*) AS n FROM plants")
    assert row is not None
    assert row["n"] == 0
    assert row["t"] in (None, "")
