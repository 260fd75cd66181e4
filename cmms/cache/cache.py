"""Cache-aside on Redis: tenant-scoped keys, versioned namespaces, single flight, never fatal.

Every key lives under a namespace version (`cmms:v:<tenant>:<kind>`). A write bumps the version,
which makes every entry of that kind for the tenant unreachable at once: no key scans, and no
stale entry can be read back even when a slow reader stores what it loaded before the write.

Above the versions sits one epoch (`cmms:cache:epoch`), part of every key. It starts at a random
value whenever Redis has none (a restart that lost the data would otherwise count versions up
again from zero, into keys that processes still hold locally), and a process that failed to bump
a version moves it on as soon as Redis answers again, so a write made while Redis was away
leaves no entry reachable on any node.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cmms.cache.breaker import Breaker
from cmms.wire import OPTIONS

log = logging.getLogger("cmms.cache")
T = TypeVar("T")
KINDS = ("assets", "orders", "alerts", "plans", "plants")
EPOCH = "cmms:cache:epoch"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    loads: int = 0


@dataclass
class Cache:
    redis: Redis
    ttl: dict[str, int]
    enabled: bool = True
    breaker: Breaker = field(default_factory=Breaker)
    stats: CacheStats = field(default_factory=CacheStats)
    lock_ms: int = 2000
    local_size: int = 2048
    _inflight: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    # Decoded values by their full (versioned) key: a version bump makes them unreachable, like
    # the Redis entries, so only the namespace version is read from Redis on a local hit.
    _local: OrderedDict[str, tuple[float, Any]] = field(default_factory=OrderedDict)
    # The version last seen per tenant and kind, and the local keys under it: a write makes them
    # unreachable, so they are dropped at once instead of filling the LRU with dead pages.
    _seen: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    # A version bump may have been lost while Redis failed: move the epoch on before trusting it.
    _unsure: bool = False
    _repair: asyncio.Task[None] | None = None

    async def get_or_load(self, tenant_id: int, kind: str, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or `load()` stored for next time. Redis trouble only costs speed.

        Concurrent callers for one key share one lookup (and at most one load) in this process.
        """
        if not self.enabled or not self.breaker.allow():
            return await load()
        flight = f"{tenant_id}:{kind}:{key}"
        waiting = self._inflight.get(flight)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        try:
            value = await self._fetch(tenant_id, kind, key, load)
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody logs "never retrieved"
            raise
        finally:
            if self._inflight.get(flight) is future:
                del self._inflight[flight]

    async def invalidate(self, tenant_id: int, *kinds: str) -> None:
        """Make every cached entry of these kinds unreachable for the tenant."""
        for kind in kinds:  # later readers in this process must not join a lookup begun before the write
            prefix = f"{tenant_id}:{kind}:"
            for flight in [f for f in self._inflight if f.startswith(prefix)]:
                del self._inflight[flight]
        if not self.enabled:
            return
        if not self.breaker.allow():
            self._lost_write()
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for kind in kinds:
                    pipe.incr(f"cmms:v:{tenant_id}:{kind}")
                await pipe.execute()
            self.breaker.success()
        except RedisError:
            self._failed("invalidate")
            self._lost_write()

    def _lost_write(self) -> None:
        """A committed write could not bump its version: repair as soon as Redis answers."""
        self._unsure = True
        if self._repair is None or self._repair.done():
            self._repair = asyncio.create_task(self._repair_epoch(), name="cache-epoch-repair")

    async def _repair_epoch(self, every: float = 0.5) -> None:
        while self._unsure:
            try:
                await self._new_epoch()
                self.breaker.success()
                return
            except RedisError:
                await asyncio.sleep(every)

    async def _new_epoch(self) -> None:
        self._unsure = False  # set again by a failure that happens while this runs
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(EPOCH, secrets.randbits(40), nx=True)
                pipe.incr(EPOCH)
                await pipe.execute()
        except BaseException:
            self._unsure = True  # not moved on: the next use of Redis tries again
            raise
        self._local.clear()
        self._seen.clear()
        log.info("cache epoch moved on after Redis failures")

    async def close(self) -> None:
        if self._repair is not None:
            self._repair.cancel()
            await asyncio.gather(self._repair, return_exceptions=True)

    async def _fetch(self, tenant_id: int, kind: str, key: str, load: Callable[[], Awaitable[T]]) -> T:
        full_key = await self._key(tenant_id, kind, key)
        if full_key is None:
            return await load()
        self._forget_superseded(full_key)
        local = self._local.get(full_key)
        if local is not None and local[0] > time.monotonic():
            self._local.move_to_end(full_key)
            self.stats.hits += 1
            return local[1]  # type: ignore[no-any-return]
        cached = await self._get(full_key)
        if cached is not None:
            self.stats.hits += 1
            return self._remember(full_key, kind, orjson.loads(cached))  # type: ignore[no-any-return]
        self.stats.misses += 1
        return self._remember(full_key, kind, await self._load_across_nodes(full_key, kind, load))

    def _remember(self, full_key: str, kind: str, value: T) -> T:
        self._local[full_key] = (time.monotonic() + self.ttl.get(kind, 300), value)
        self._local.move_to_end(full_key)
        seen = self._seen.get(_scope(full_key))
        if seen is not None and seen[0] == _version(full_key):
            seen[1].add(full_key)
        while len(self._local) > self.local_size:
            old, _ = self._local.popitem(last=False)
            self._seen.get(_scope(old), ("", set()))[1].discard(old)
        return value

    def _forget_superseded(self, full_key: str) -> None:
        scope, version = _scope(full_key), _version(full_key)
        seen = self._seen.get(scope)
        if seen is not None and seen[0] == version:
            return
        for old in seen[1] if seen is not None else ():
            self._local.pop(old, None)
        self._seen[scope] = (version, set())

    async def _key(self, tenant_id: int, kind: str, key: str) -> str | None:
        names = (EPOCH, f"cmms:v:{tenant_id}:{kind}")
        try:
            if self._unsure:
                await self._new_epoch()
            epoch, version = await self.redis.mget(*names)
            if epoch is None:  # a new or emptied Redis: never reuse the numbers of before
                await self.redis.set(EPOCH, secrets.randbits(40), nx=True)
                epoch, version = await self.redis.mget(*names)
            self.breaker.success()
        except RedisError:
            self._failed("version")
            return None
        return f"cmms:c:{tenant_id}:{kind}:{int(epoch or 0)}.{int(version or 0)}:{key}"

    async def _get(self, full_key: str) -> Any:
        try:
            return await self.redis.get(full_key)
        except RedisError:
            self._failed("get")
            return None

    async def _load_across_nodes(self, full_key: str, kind: str, load: Callable[[], Awaitable[T]]) -> T:
        """Only one node loads a missing key; the others wait briefly for its result."""
        token = secrets.token_hex(8)
        lock = f"{full_key}:lock"
        try:
            got = await self.redis.set(lock, token, nx=True, px=self.lock_ms)
        except RedisError:
            self._failed("lock")
            got = True
        if not got:
            for _ in range(self.lock_ms // 20):
                await asyncio.sleep(0.02)
                cached = await self._get(full_key)
                if cached is not None:
                    self.stats.hits += 1
                    return orjson.loads(cached)  # type: ignore[no-any-return]
        self.stats.loads += 1
        value = await load()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(full_key, orjson.dumps(value, option=OPTIONS), ex=self.ttl.get(kind, 300))
                pipe.delete(lock)
                await pipe.execute()
        except (RedisError, TypeError):
            self._failed("set")
        return value

    def _failed(self, operation: str) -> None:
        self.stats.errors += 1
        self.breaker.failure()
        log.debug("cache %s failed", operation)


def _scope(full_key: str) -> str:
    """`<tenant>:<kind>` of `cmms:c:<tenant>:<kind>:<epoch>.<version>:<key>`."""
    parts = full_key.split(":", 5)
    return f"{parts[2]}:{parts[3]}"


def _version(full_key: str) -> str:
    return full_key.split(":", 5)[4]
