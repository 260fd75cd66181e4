"""The Elasticsearch adapter against an HTTP DOUBLE of Elasticsearch, not a real server.

No Elasticsearch can be installed on these machines. `tests/integration/es_double.py` implements
the REST endpoints the adapter calls (_bulk NDJSON, _search with a small query evaluator, _aliases,
index templates and creation, _cluster/health, _delete_by_query), and the real
`elasticsearch[async]` 9.x client talks to it over HTTP. The behavioural suite of test_search.py
runs over this adapter too; this module covers what is specific to Elasticsearch: index layout,
the tenant filter in every query, indexing through the outbox relay with a position that survives
outages, the fallback to PostgreSQL, the zero-downtime reindex, and an 8.x server refusing the 9.x
client (which is why Elasticsearch 8 users need `elasticsearch[async]>=8.19,<9`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg2
import pytest
from aiohttp.test_utils import TestClient

from cmms.domain.model import AssetIn, OrderIn, PlantIn
from cmms.domain.search import SearchQuery, parse_query
from cmms.realtime.outbox import OutboxRelay
from cmms.runtime import Runtime
from cmms.search.base import SearchUnavailable
from cmms.search.elastic import ElasticSearch, make_client
from cmms.search.es_schema import ALIASES
from cmms.search.postgres import PostgresSearch
from cmms.search.source import PostgresSource
from cmms.seed import seed
from cmms.services import assets, orders, plants
from tests.integration.es_double import ElasticsearchDouble
from tests.integration.search_support import actor
from tests.integration.support import Tenant, make_tenant, unique


@pytest.fixture
async def double() -> AsyncIterator[ElasticsearchDouble]:
    server = ElasticsearchDouble()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def es(rt: Runtime, double: ElasticsearchDouble) -> AsyncIterator[ElasticSearch]:
    backend = ElasticSearch(
        make_client(double.url), PostgresSource(rt.deps.pool), PostgresSearch(rt.deps.pool), retry_after=0.2
    )
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def shop(rt: Runtime, client: TestClient) -> Tenant:
    tenant = await make_tenant(rt, client, {"manager": "manager", "technician": "technician"})
    manager = actor(tenant, "manager")
    plant = await plants.create(rt.deps, manager, PlantIn(name=unique("Plant")))
    tenant.users["plant"] = plant
    asset = await assets.create(rt.deps, manager, AssetIn(name="Boiler Feed Pump", plant_id=plant["id"]))
    tenant.users["asset"] = asset
    await orders.create(rt.deps, manager, OrderIn(title="Feed pump cavitation", asset_id=asset["id"]))
    return tenant


async def search(es: ElasticSearch, tenant: Tenant, q: str, **fields: Any) -> Any:
    return await es.search(tenant.id, SearchQuery(parse_query(q), **fields))


def order_ids(result: Any) -> list[int]:
    return [i["id"] for i in result.items if i["type"] == "orders"]


def tenant_filters(body: dict[str, Any]) -> list[int]:
    return [f["term"]["tenant_id"] for f in body["query"]["bool"]["filter"] if "tenant_id" in f.get("term", {})]


async def eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_versioned_indices_with_explicit_mappings_behind_aliases(
    es: ElasticSearch, double: ElasticsearchDouble
) -> None:
    assert await es.ensure_indices() is True
    assert double.aliases == {
        "orders": "orders_v1",
        "assets": "assets_v1",
        "parts": "parts_v1",
        "audit_log": "audit_log_v1",
    }
    orders_index = double.indices["orders_v1"]
    assert orders_index.mappings["dynamic"] is False
    assert orders_index.mappings["properties"]["title"]["analyzer"] == "cmms_english"
    assert orders_index.mappings["properties"]["status"] == {"type": "keyword"}
    assert set(double.templates) == {"cmms-orders", "cmms-assets", "cmms-parts", "cmms-audit_log"}
    assert await es.ensure_indices() is False  # idempotent


async def test_every_search_filters_on_the_tenant(es: ElasticSearch, double: ElasticsearchDouble, shop: Tenant) -> None:
    await es.ensure_indices()
    await es.sync_tenant(shop.id)
    queries = ["pump", "cavitaton ", "", '"feed pump" -boiler', "WO-000001", "x-1"]
    for q in queries:
        result = await search(es, shop, q, requested_by=shop.users["technician"]["id"])
        assert result.backend == "elasticsearch"
    bodies = double.searches()
    assert len(bodies) >= len(queries)
    for body in bodies:
        assert tenant_filters(body) == [shop.id], body
    assert (await search(es, shop, "pump ")).items  # and the data is there


async def test_changes_travel_through_the_outbox_relay(
    rt: Runtime, es: ElasticSearch, double: ElasticsearchDouble, shop: Tenant
) -> None:
    """The wiring proposed for cmms/server.py: a relay handler that calls `changed`, and `run()`."""

    async def search_handler(row: dict[str, Any]) -> None:
        es.changed(row["tenant_id"])

    relay = OutboxRelay(rt.deps, rt.dsn, [search_handler])
    indexer = asyncio.create_task(es.run())
    try:
        await relay.drain()
        manager = actor(shop, "manager")
        order = await orders.create(rt.deps, manager, OrderIn(title="Scale build-up in the heat exchanger"))
        await relay.drain()

        async with rt.deps.pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT event_seq FROM tenants WHERE id = %s", (shop.id,))
            (event_seq,) = await cur.fetchone()

        async def indexed() -> bool:
            position = (await es.source.positions()).get(shop.id, (0, 0))[0]
            return position == event_seq and f"{shop.id}-{order['id']}" in double.docs("orders")

        await eventually(indexed)
        found = await search(es, shop, "heat exchanger ")
        assert found.backend == "elasticsearch" and order_ids(found) == [order["id"]]
    finally:
        indexer.cancel()
        await asyncio.gather(indexer, return_exceptions=True)


async def test_an_outage_falls_back_to_postgres_and_loses_nothing(
    rt: Runtime, es: ElasticSearch, double: ElasticsearchDouble, shop: Tenant
) -> None:
    await es.ensure_indices()
    await es.sync_tenant(shop.id)
    before = (await es.source.positions())[shop.id]
    await double.stop()

    result = await search(es, shop, "cavitation ")
    assert result.backend == "postgres" and result.items  # answered by the database
    health = await es.health()
    assert health["ok"] is True and health["serving"] == "postgres" and "unreachable" in str(health["degraded"])

    order = await orders.create(
        rt.deps, actor(shop, "manager"), OrderIn(title="Tripped breaker on the chiller", description="Outage test")
    )
    es.changed(shop.id)
    with pytest.raises(SearchUnavailable):
        await es.sync()
    assert (await es.source.positions())[shop.id] == before  # nothing advanced past what ES has
    assert (await search(es, shop, "chiller ")).backend == "postgres"

    await double.start()
    await asyncio.sleep(0.25)  # the breaker's retry_after
    await es.sync()
    found = await search(es, shop, "chiller ")
    assert found.backend == "elasticsearch"
    assert order_ids(found) == [order["id"]]
    assert (await es.health()).get("serving") is None


async def test_reindex_builds_the_next_version_and_swaps_every_alias_at_once(
    rt: Runtime, es: ElasticSearch, double: ElasticsearchDouble, shop: Tenant
) -> None:
    await es.ensure_indices()
    await es.sync()
    count_v1 = {alias: len(double.docs(alias)) for alias in ALIASES.values()}
    double.requests.clear()

    report = await es.reindex()

    assert report["version"] == 2
    assert double.aliases == {
        "orders": "orders_v2",
        "assets": "assets_v2",
        "parts": "parts_v2",
        "audit_log": "audit_log_v2",
    }
    assert not {"orders_v1", "assets_v1", "parts_v1", "audit_log_v1"} & set(double.indices)
    swaps = [body for method, path, body in double.requests if path == "/_aliases"]
    assert len(swaps) == 1  # one request: searches see either every old index or every new one
    assert sorted(next(iter(a)) for a in swaps[0]["actions"]) == ["add"] * 4 + ["remove"] * 4
    assert {alias: len(double.docs(alias)) for alias in ALIASES.values()} == count_v1
    assert (await search(es, shop, "cavitation ")).backend == "elasticsearch"

    # Changes after the swap (and those during the load, replayed from the rewound position).
    order = await orders.create(rt.deps, actor(shop, "manager"), OrderIn(title="Worn impeller after reindex"))
    await es.sync()
    assert order_ids(await search(es, shop, "impeller ")) == [order["id"]]
    assert (await es.reindex())["version"] == 3


async def test_a_seeded_tenant_is_loaded_by_reindexing_it(rt: Runtime, es: ElasticSearch) -> None:
    name = unique("seeded")
    report = await seed(rt.deps, tenant=name, assets=30, orders=120)
    assert report.orders == 120
    async with rt.deps.pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT set_config('cmms.tenant_id', %s, false)", (str(report.tenant_id),))
        await cur.execute(
            "SELECT count(DISTINCT number), max(number) FROM work_orders WHERE tenant_id = %s", (report.tenant_id,)
        )
        assert await cur.fetchone() == (120, 120)
        await cur.execute("SELECT order_seq FROM tenants WHERE id = %s", (report.tenant_id,))
        assert await cur.fetchone() == (120,)  # the next order created through the API is WO-000121
        await cur.execute("SELECT set_config('cmms.tenant_id', '', false)")
    await es.ensure_indices()
    loaded = await es.reindex(report.tenant_id)
    assert loaded["documents"] >= 150
    result = await es.search(report.tenant_id, SearchQuery(parse_query(""), kinds=("orders",)))
    assert result.backend == "elasticsearch" and result.total == 120
    assert result.facets["type"] == {"orders": 120}


async def test_older_versions_never_replace_newer_ones(es: ElasticSearch, double: ElasticsearchDouble) -> None:
    await es.ensure_indices()
    doc = {"kind": "orders", "tenant_id": 999_999, "id": 1, "title": "new title", "version": 5}
    await es.index(999_999, "orders", [doc])
    await es.index(999_999, "orders", [{**doc, "title": "stale title", "version": 3}])
    await es.index(999_999, "orders", [{**doc, "title": "same version, new notes", "version": 5}])
    assert double.docs("orders")["999999-1"]["title"] == "same version, new notes"


async def test_purged_events_lead_to_a_full_resync(
    rt: Runtime, es: ElasticSearch, double: ElasticsearchDouble, shop: Tenant, database_url: str
) -> None:
    await es.ensure_indices()
    await es.sync_tenant(shop.id)
    await es.index(shop.id, "assets", [{"kind": "assets", "tenant_id": shop.id, "id": 10**12, "title": "ghost"}])
    order = await orders.create(rt.deps, actor(shop, "manager"), OrderIn(title="Blocked strainer"))
    conn = psycopg2.connect(database_url)  # retention purged the events before the indexer saw them
    try:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM outbox WHERE tenant_id = %s", (shop.id,))
    finally:
        conn.close()
    await es.sync_tenant(shop.id)
    assert f"{shop.id}-{order['id']}" in double.docs("orders")
    assert f"{shop.id}-{10**12}" not in double.docs("assets")  # what the database no longer has is dropped


async def test_deleted_assets_leave_the_index(
    rt: Runtime, client: TestClient, es: ElasticSearch, double: ElasticsearchDouble
) -> None:
    tenant = await make_tenant(rt, client, {"manager": "manager"})
    manager = actor(tenant, "manager")
    plant = await plants.create(rt.deps, manager, PlantIn(name=unique("Plant")))
    spare = await assets.create(rt.deps, manager, AssetIn(name="Spare gearbox", plant_id=plant["id"]))
    await es.ensure_indices()
    await es.sync_tenant(tenant.id)
    assert f"{tenant.id}-{spare['id']}" in double.docs("assets")
    await assets.delete(rt.deps, manager, spare["id"], None)
    await es.sync_tenant(tenant.id)
    assert f"{tenant.id}-{spare['id']}" not in double.docs("assets")


async def test_an_8x_server_refuses_the_9x_client(rt: Runtime, shop: Tenant) -> None:
    old = ElasticsearchDouble(major=8)
    await old.start()
    backend = ElasticSearch(make_client(old.url), PostgresSource(rt.deps.pool), PostgresSearch(rt.deps.pool))
    try:
        health = await backend.health()
        assert health["ok"] is True and "media_type_header_exception" in str(health["error"])
        result = await backend.search(shop.id, SearchQuery(parse_query("pump ")))
        assert result.backend == "postgres" and result.items
    finally:
        await backend.close()
        await old.stop()
