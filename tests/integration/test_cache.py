"""Cache-aside on the real Redis and PostgreSQL: hits, read-your-writes, tenant isolation,
single flight and graceful degradation with Redis unreachable."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cmms.api.app import make_app
from cmms.cache.breaker import CLOSED, OPEN
from cmms.cache.cache import Cache
from cmms.cache.revoked import RedisRevocations
from cmms.cache.throttle import LoginThrottle
from cmms.domain.roles import Actor, Role
from cmms.runtime import Runtime
from cmms.services import assets as assets_service
from cmms.services.revocations import Revocations
from tests.integration.support import PASSWORD, Tenant, login, ok


@pytest.fixture(scope="module")
async def site(tenant: Tenant) -> dict[str, int]:
    plant = ok(await tenant["manager"].post("/api/v1/plants", {"name": "Cache plant"}), 201)
    asset = ok(await tenant["manager"].post("/api/v1/assets", {"name": "Pump 1", "plant_id": plant["id"]}), 201)
    return {"plant": plant["id"], "asset": asset["id"]}


async def test_a_second_read_is_a_hit(rt: Runtime, tenant: Tenant, site: dict[str, int]) -> None:
    stats = rt.deps.cache.stats
    await rt.deps.cache.invalidate(tenant.id, "assets")
    misses, hits = stats.misses, stats.hits
    first = ok(await tenant["technician"].get(f"/api/v1/assets/{site['asset']}"))
    assert stats.misses == misses + 1
    second = ok(await tenant["technician"].get(f"/api/v1/assets/{site['asset']}"))
    assert stats.hits == hits + 1
    assert first == second


async def test_writes_are_visible_at_once_single_and_list(tenant: Tenant, site: dict[str, int]) -> None:
    path = f"/api/v1/assets/{site['asset']}"
    list_path = f"/api/v1/plants/{site['plant']}/assets"
    ok(await tenant["technician"].get(path))
    ok(await tenant["technician"].get(list_path))  # both now cached
    for name in ("Pump 1 renamed", "Pump 1 again"):
        ok(await tenant["manager"].patch(path, {"name": name}))
        assert ok(await tenant["technician"].get(path))["name"] == name
        listed = ok(await tenant["technician"].get(list_path))["items"]
        assert [a["name"] for a in listed if a["id"] == site["asset"]] == [name]


async def test_orders_read_your_writes_through_transitions(tenant: Tenant) -> None:
    order = ok(await tenant["manager"].post("/api/v1/orders", {"title": "Cached order"}), 201)
    path = f"/api/v1/orders/{order['id']}"
    assert ok(await tenant["manager"].get(path))["status"] == "open"
    ok(await tenant["manager"].get("/api/v1/orders", params={"status": "open"}))
    ok(await tenant["manager"].post(f"{path}/transition", {"to": "cancelled"}))
    assert ok(await tenant["manager"].get(path))["status"] == "cancelled"
    still_open = ok(await tenant["manager"].get("/api/v1/orders", params={"status": "open"}))["items"]
    assert order["id"] not in [o["id"] for o in still_open]


async def test_another_tenant_never_sees_a_cached_entry(
    tenant: Tenant, other: Tenant, site: dict[str, int]
) -> None:
    ok(await tenant["admin"].get(f"/api/v1/assets/{site['asset']}"))  # cached for tenant
    reply = await other["admin"].get(f"/api/v1/assets/{site['asset']}")
    assert reply.status == 404, reply
    mine = ok(await tenant["admin"].get("/api/v1/assets"))["items"]
    theirs = ok(await other["admin"].get("/api/v1/assets"))["items"]
    assert site["asset"] in [a["id"] for a in mine]
    assert site["asset"] not in [a["id"] for a in theirs]


async def test_a_requester_list_is_not_served_to_staff(tenant: Tenant) -> None:
    ok(await tenant["requester"].post("/api/v1/orders", {"title": "Requester's own"}), 201)
    theirs = ok(await tenant["requester"].get("/api/v1/orders"))["items"]
    staff = ok(await tenant["manager"].get("/api/v1/orders"))["items"]
    assert {o["requested_by"] for o in theirs} == {tenant.users["requester"]["id"]}
    assert len(staff) > len(theirs)


async def test_500_concurrent_misses_make_at_most_two_loads(rt: Runtime, tenant: Tenant) -> None:
    loads = 0

    async def load() -> dict[str, int]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)  # a slow query: every caller arrives while it runs
        return {"answer": 42}

    await rt.deps.cache.invalidate(tenant.id, "plans")
    results = await asyncio.gather(
        *(rt.deps.cache.get_or_load(tenant.id, "plans", "stampede", load) for _ in range(500))
    )
    assert results == [{"answer": 42}] * 500
    assert 1 <= loads <= 2


async def test_500_concurrent_service_reads_hit_the_database_at_most_twice(
    rt: Runtime, tenant: Tenant, site: dict[str, int]
) -> None:
    actor = Actor(tenant.id, tenant.users["technician"]["id"], Role.TECHNICIAN)
    await rt.deps.cache.invalidate(tenant.id, "assets")
    before = rt.deps.cache.stats.loads
    rows = await asyncio.gather(*(assets_service.get(rt.deps, actor, site["asset"]) for _ in range(500)))
    assert {r["id"] for r in rows} == {site["asset"]}
    assert rt.deps.cache.stats.loads - before <= 2


@pytest.fixture
async def without_redis(rt: Runtime) -> AsyncIterator[tuple[TestClient, Cache]]:
    """The same database behind an app whose Redis is unreachable (nothing listens on port 1)."""
    dead = aioredis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_timeout=0.25, socket_connect_timeout=0.25, retry=Retry(NoBackoff(), 1)
    )
    cache = Cache(dead, rt.settings.cache.ttls())
    deps = dataclasses.replace(
        rt.deps,
        redis=dead,
        cache=cache,
        throttle=LoginThrottle(dead, per_account=5, per_address=5, window=60),
        revocations=Revocations(rt.deps.pool, RedisRevocations(dead), 900),
    )
    client = TestClient(TestServer(make_app(deps, rt.readiness)))
    await client.start_server()
    try:
        yield client, cache
    finally:
        await client.close()
        await dead.aclose()


async def test_every_read_and_write_succeeds_without_redis(
    tenant: Tenant, site: dict[str, int], without_redis: tuple[TestClient, Cache]
) -> None:
    client, cache = without_redis
    manager = await login(client, tenant.name, tenant.users["manager"]["email"], PASSWORD)
    asset_path = f"/api/v1/assets/{site['asset']}"
    for i in range(5):
        ok(await manager.get(asset_path))
        ok(await manager.get(f"/api/v1/plants/{site['plant']}/assets"))
        ok(await manager.patch(asset_path, {"serial": f"SN-{i}"}))
        order = ok(await manager.post("/api/v1/orders", {"title": f"No Redis {i}"}), 201)
        ok(await manager.get(f"/api/v1/orders/{order['id']}"))
        ok(await manager.get("/api/v1/orders"))
        ok(await manager.get("/api/v1/alerts"))
    assert ok(await manager.get(asset_path))["serial"] == "SN-4"
    assert cache.stats.errors >= 3
    assert cache.breaker.state == OPEN
    # While the breaker is open, reads skip Redis instead of waiting for it.
    started = time.perf_counter()
    for _ in range(20):
        ok(await manager.get(asset_path))
    assert (time.perf_counter() - started) / 20 < 0.2


async def test_breaker_recovers_when_redis_returns(rt: Runtime, tenant: Tenant) -> None:
    clock = [0.0]
    cache = Cache(rt.deps.cache.redis, rt.settings.cache.ttls())
    cache.breaker.clock = lambda: clock[0]
    for _ in range(3):
        cache.breaker.failure()
    assert cache.breaker.state == OPEN
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await cache.get_or_load(tenant.id, "plans", "probe", load) == 1  # open: straight to the loader
    clock[0] += cache.breaker.cooldown
    await cache.get_or_load(tenant.id, "plans", "probe", load)  # half-open probe succeeds
    assert cache.breaker.state == CLOSED


async def test_metrics_expose_cache_counters_and_breaker(client: TestClient) -> None:
    async with client.get("/metrics") as resp:
        text = await resp.text()
    for name in ("cmms_cache_hits_total", "cmms_cache_misses_total", "cmms_cache_errors_total",
                 'cmms_cache_breaker{cmms_cache_breaker="closed"}'):
        assert name in text, name


async def test_entries_of_a_superseded_version_leave_the_local_layer(rt: Runtime, tenant: Tenant) -> None:
    cache = Cache(rt.deps.cache.redis, rt.settings.cache.ttls())
    for i in range(50):

        async def load(i: int = i) -> dict[str, int]:
            return {"page": i}

        assert await cache.get_or_load(tenant.id, "orders", "page-1", load) == {"page": i}
        assert await cache.get_or_load(tenant.id, "orders", "page-1", load) == {"page": i}  # a local hit
        await cache.invalidate(tenant.id, "orders")
    assert len(cache._local) <= 1  # not fifty dead pages waiting for the LRU


async def test_a_lost_version_bump_is_remembered_until_redis_takes_the_new_epoch(rt: Runtime, tenant: Tenant) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.25, retry=Retry(NoBackoff(), 0))
    cache = Cache(dead, rt.settings.cache.ttls())
    try:
        await cache.invalidate(tenant.id, "assets")  # fails: the write's bump is lost
        assert cache._unsure
        await asyncio.sleep(0.3)  # the repair task tries and fails
        assert cache._unsure
        cache.redis = rt.deps.cache.redis  # Redis answers again
        before = await cache.redis.get("cmms:cache:epoch")
        await cache.get_or_load(tenant.id, "assets", "k", lambda: asyncio.sleep(0, {"v": 1}))
        assert not cache._unsure
        assert await cache.redis.get("cmms:cache:epoch") != before
    finally:
        await cache.close()
        await dead.aclose()
