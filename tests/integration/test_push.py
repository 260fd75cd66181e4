"""In-process copies kept by pushes: cache versions and revocations across two nodes on one Redis.

Each "node" here is a Cache or Revocations with its own push channel subscription, as two
`cmms serve` processes have. A node whose Redis client is dead proves that it answered from
process memory alone: any round trip would fail and show up as an error or a load.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cmms.cache.cache import Cache
from cmms.cache.push import PushChannel, Subscriber
from cmms.cache.revoked import RedisRevocations
from cmms.cache.versions import VersionBook
from cmms.db.pool import transaction
from cmms.runtime import Runtime
from cmms.services.revocations import Revocations
from cmms.wire import JsonDict, dumps_bytes
from tests.integration.support import Tenant


def dead_redis() -> aioredis.Redis:
    return aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


@asynccontextmanager
async def subscribed(rt: Runtime, *subscribers: Subscriber) -> AsyncIterator[PushChannel]:
    channel = PushChannel(rt.deps.redis, ping_every=0.2, dead_after=1.0)
    for subscriber in subscribers:
        channel.add(subscriber)
    task = asyncio.create_task(channel.run())
    try:
        await until(lambda: channel.live)
        yield channel
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def node(rt: Runtime, channel: str) -> Cache:
    return Cache(rt.deps.cache.redis, rt.settings.cache.ttls(), book=VersionBook(channel))


def loader(value: dict[str, Any], calls: list[int]) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def load() -> dict[str, Any]:
        calls.append(1)
        return value

    return load


async def test_a_local_hit_needs_no_redis_and_a_write_elsewhere_reaches_it(rt: Runtime, tenant: Tenant) -> None:
    channel = f"cmms:push:cache:test-{uuid.uuid4().hex[:6]}"
    reader, writer = node(rt, channel), node(rt, channel)
    calls: list[int] = []
    async with subscribed(rt, reader.book), subscribed(rt, writer.book):
        assert await reader.get_or_load(tenant.id, "assets", "id:1", loader({"v": 1}, calls)) == {"v": 1}
        dead = dead_redis()
        reader.redis, alive = dead, reader.redis
        for _ in range(3):  # answered from process memory: a round trip would fail and load again
            assert await reader.get_or_load(tenant.id, "assets", "id:1", loader({"v": 0}, calls)) == {"v": 1}
        assert calls == [1] and reader.stats.errors == 0
        reader.redis = alive
        await dead.aclose()

        before = reader.book.get(f"cmms:v:{tenant.id}:assets")
        await writer.invalidate(tenant.id, "assets")  # another node's committed write
        await until(lambda: reader.book.get(f"cmms:v:{tenant.id}:assets") != before)
        assert await reader.get_or_load(tenant.id, "assets", "id:1", loader({"v": 2}, calls)) == {"v": 2}
        # and the writer reads its own write at once, without waiting for any message
        await writer.invalidate(tenant.id, "assets")
        assert await writer.get_or_load(tenant.id, "assets", "id:1", loader({"v": 3}, calls)) == {"v": 3}


async def test_metrics_say_whether_versions_are_pushed(rt: Runtime) -> None:
    from cmms.api.metrics import Metrics

    cache = node(rt, f"cmms:push:cache:test-{uuid.uuid4().hex[:6]}")
    assert b"cmms_cache_pushed 0.0" in Metrics(cache).render()
    async with subscribed(rt, cache.book):
        assert b"cmms_cache_pushed 1.0" in Metrics(cache).render()


async def test_a_lost_subscription_is_never_trusted_and_comes_back(rt: Runtime, tenant: Tenant) -> None:
    channel = f"cmms:push:cache:test-{uuid.uuid4().hex[:6]}"
    reader, writer = node(rt, channel), node(rt, channel)
    calls: list[int] = []
    async with subscribed(rt, reader.book) as push:
        await reader.get_or_load(tenant.id, "orders", "page", loader({"v": 1}, calls))
        await rt.deps.redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await writer.invalidate(tenant.id, "orders")  # possibly published while nobody listened
        await until(lambda: not push.live or push.subscriptions == 2)  # the node noticed the drop
        value = await reader.get_or_load(tenant.id, "orders", "page", loader({"v": 2}, calls))
        assert value == {"v": 2}
        await until(lambda: push.subscriptions == 2 and push.live)
        assert reader.book.trusted
        await writer.invalidate(tenant.id, "orders")
        await until(lambda: reader.book.get(f"cmms:v:{tenant.id}:orders") is not None)
        assert await reader.get_or_load(tenant.id, "orders", "page", loader({"v": 3}, calls)) == {"v": 3}


async def test_an_epoch_move_elsewhere_makes_every_local_entry_unreachable(rt: Runtime, tenant: Tenant) -> None:
    channel = f"cmms:push:cache:test-{uuid.uuid4().hex[:6]}"
    reader, writer = node(rt, channel), node(rt, channel)
    calls: list[int] = []
    async with subscribed(rt, reader.book):
        await reader.get_or_load(tenant.id, "plans", "id:9", loader({"v": 1}, calls))
        generation = reader.book.generation
        await writer._new_epoch()  # what a node does after a bump it could not make
        await until(lambda: reader.book.generation != generation)
        assert await reader.get_or_load(tenant.id, "plans", "id:9", loader({"v": 2}, calls)) == {"v": 2}


async def test_cached_values_carry_their_encoding(rt: Runtime, tenant: Tenant) -> None:
    cache = node(rt, "cmms:push:cache:test-encoding")
    row = {"id": 5, "name": "Pump", "tags": ["a"]}
    first = await cache.get_or_load(tenant.id, "assets", f"enc:{uuid.uuid4()}", loader(row, []))
    assert isinstance(first, JsonDict) and first.json == orjson.dumps(row) == dumps_bytes(first)
    first["name"] = "changed"  # a copy changed by a caller is encoded afresh, never from stale bytes
    assert orjson.loads(dumps_bytes({**first})) == {**row, "name": "changed"}


async def revocations_node(rt: Runtime, channel: str, redis: aioredis.Redis | None = None) -> Revocations:
    return Revocations(rt.deps.pool, RedisRevocations(redis or rt.deps.redis, channel=channel), 900)


async def revoke_session(node: Revocations, tenant: Tenant, session: str) -> None:
    async with transaction(node._pool, tenant.id) as cur:
        entry = await node.record_session(cur, tenant.id, session)
    await node.announce(entry)


async def test_revocations_reach_every_node_without_a_round_trip(rt: Runtime, tenant: Tenant) -> None:
    channel = f"cmms:push:revoked:test-{uuid.uuid4().hex[:6]}"
    earlier, later = f"s-{uuid.uuid4().hex}", f"s-{uuid.uuid4().hex}"
    writer = await revocations_node(rt, channel)
    await revoke_session(writer, tenant, earlier)  # before the reader subscribed: found by its load
    dead = dead_redis()
    reader = await revocations_node(rt, channel, dead)  # every check it makes must be in process
    try:
        async with subscribed(rt, reader) as push:
            await until(lambda: reader.complete)
            assert await reader.is_revoked(tenant.id, earlier, None, 0)
            assert not await reader.is_revoked(tenant.id, later, None, 0)
            await revoke_session(writer, tenant, later)
            await until(lambda: later in reader._sessions)
            assert await reader.is_revoked(tenant.id, later, None, 0)
            assert reader._copy.breaker.failures == 0  # no lookup ever went to (the dead) Redis
            reader.on_lost()  # what the channel does when its connection drops
            assert await reader.is_revoked(tenant.id, later, None, 0)  # still known in process
            assert not await reader.is_revoked(tenant.id, f"s-{uuid.uuid4().hex}", None, 0)  # asked PostgreSQL
            assert not reader.complete
            await rt.deps.redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await until(lambda: push.subscriptions == 2 and reader.complete)  # subscribed and loaded again
    finally:
        await reader.close()
        await writer.close()
        await dead.aclose()
