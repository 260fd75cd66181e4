"""Cache-aside on Redis: tenant-scoped keys, versioned namespaces, single flight, never fatal.

Every key lives under a namespace version (`cmms:v:<tenant>:<kind>`). A write bumps the version,
which makes every entry of that kind for the tenant unreachable at once: no key scans, and no
stale entry can be read back even when a slow reader stores what it loaded before the write.

Above the versions sits one epoch (`cmms:cache:epoch`), part of every key. It starts at a random
value whenever Redis has none (a restart that lost the data would otherwise count versions up
again from zero, into keys that processes still hold locally), and a process that failed to bump
a version moves it on as soon as Redis answers again, so a write made while Redis was away
leaves no entry reachable on any node.

Versions and the epoch are kept in process (`VersionBook`), learnt from Redis once and then
pushed by every bump (the bump and its message are one Lua script), so a local hit makes no
Redis round trip at all while the push channel is alive; when it is not, every lookup reads the
versions from Redis as before. Local entries carry their JSON encoding (`cmms.wire.with_json`),
so an answer from the local layer is sent without encoding it again.
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
from cmms.cache.versions import VersionBook
from cmms.wire import dumps_bytes, with_json

log = logging.getLogger("cmms.cache")
T = TypeVar("T")
KINDS = ("assets", "orders", "alerts", "plans", "plants")
EPOCH = "cmms:cache:epoch"
_MISS = object()
# KEYS: the epoch, then version keys; ARGV: an epoch to start from if there is none, the channel.
_BUMP = """
local e = redis.call('GET', KEYS[1])
if not e then redis.call('SET', KEYS[1], ARGV[1]); e = ARGV[1] end
local reply, message = {tonumber(e)}, {e}
for i = 2, #KEYS do
  local v = redis.call('INCR', KEYS[i])
  reply[#reply + 1] = v
  message[#message + 1] = KEYS[i] .. '=' .. v
end
redis.call('PUBLISH', ARGV[2], table.concat(message, ' '))
return reply
"""
_MOVE_EPOCH = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local e = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[2], tostring(e))
return e
"""


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
    book: VersionBook = field(default_factory=VersionBook)

    def __post_init__(self) -> None:
        self._bump = self.redis.register_script(_BUMP)
        self._move_epoch = self.redis.register_script(_MOVE_EPOCH)

    async def get_or_load(self, tenant_id: int, kind: str, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value, or `load()` stored for next time. Redis trouble only costs speed.

        Concurrent callers for one key share one lookup (and at most one load) in this process.
        """
        if not self.enabled or not self.breaker.allow():
            return await load()
        scope = f"{tenant_id}:{kind}"
        known = None if self._unsure else self.book.get(f"cmms:v:{scope}")
        if known is not None:  # the common case, answered without a task, a future or Redis
            hit = self._local_hit(scope, f"{known[0]}.{known[1]}", key)
            if hit is not _MISS:
                return hit  # type: ignore[no-any-return]
        flight = f"{scope}:{key}"
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
        names = [f"cmms:v:{tenant_id}:{kind}" for kind in kinds]
        generation = self.book.generation
        try:
            epoch, *versions = await self._bump(
                keys=[EPOCH, *names], args=[secrets.randbits(40), self.book.channel], client=self.redis
            )
            self.breaker.success()
        except RedisError:
            self._failed("invalidate")
            self._lost_write()
            return
        self.book.learn(generation, int(epoch), dict(zip(names, map(int, versions), strict=True)))

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
            await self._move_epoch(keys=[EPOCH], args=[secrets.randbits(40), self.book.channel], client=self.redis)
        except BaseException:
            self._unsure = True  # not moved on: the next use of Redis tries again
            raise
        self.book.forget()
        self._local.clear()
        self._seen.clear()
        log.info("cache epoch moved on after Redis failures")

    async def close(self) -> None:
        if self._repair is not None:
            self._repair.cancel()
            await asyncio.gather(self._repair, return_exceptions=True)

    async def _fetch(self, tenant_id: int, kind: str, key: str, load: Callable[[], Awaitable[T]]) -> T:
        scope = f"{tenant_id}:{kind}"
        tag = await self._version_tag(scope)
        if tag is None:
            return await load()
        hit = self._local_hit(scope, tag, key)
        if hit is not _MISS:
            return hit  # type: ignore[no-any-return]
        full_key = f"cmms:c:{scope}:{tag}:{key}"
        cached = await self._get(full_key)
        if cached is not None:
            self.stats.hits += 1
            return self._remember(full_key, scope, tag, kind, orjson.loads(cached), cached)  # type: ignore[no-any-return]
        self.stats.misses += 1
        value, body = await self._load_across_nodes(full_key, kind, load)
        return self._remember(full_key, scope, tag, kind, value, body)

    def _local_hit(self, scope: str, tag: str, key: str) -> Any:
        self._forget_superseded(scope, tag)
        full_key = f"cmms:c:{scope}:{tag}:{key}"
        local = self._local.get(full_key)
        if local is None or local[0] <= time.monotonic():
            return _MISS
        self._local.move_to_end(full_key)
        self.stats.hits += 1
        return local[1]

    def _remember(self, full_key: str, scope: str, tag: str, kind: str, value: T, body: bytes | None) -> T:
        value = with_json(value, body)
        self._local[full_key] = (time.monotonic() + self.ttl.get(kind, 300), value)
        self._local.move_to_end(full_key)
        seen = self._seen.get(scope)
        if seen is not None and seen[0] == tag:
            seen[1].add(full_key)
        while len(self._local) > self.local_size:
            old, _ = self._local.popitem(last=False)
            self._seen.get(_scope(old), ("", set()))[1].discard(old)
        return value

    def _forget_superseded(self, scope: str, tag: str) -> None:
        seen = self._seen.get(scope)
        if seen is not None and seen[0] == tag:
            return
        for old in seen[1] if seen is not None else ():
            self._local.pop(old, None)
        self._seen[scope] = (tag, set())

    async def _version_tag(self, scope: str) -> str | None:
        """`<epoch>.<version>` of the scope, from the book or else from Redis; None without Redis."""
        name = f"cmms:v:{scope}"
        if not self._unsure:
            known = self.book.get(name)
            if known is not None:
                return f"{known[0]}.{known[1]}"
        generation = self.book.generation
        try:
            if self._unsure:
                await self._new_epoch()
                generation = self.book.generation
            epoch, version = await self.redis.mget(EPOCH, name)
            if epoch is None:  # a new or emptied Redis: never reuse the numbers of before
                await self.redis.set(EPOCH, secrets.randbits(40), nx=True)
                epoch, version = await self.redis.mget(EPOCH, name)
            self.breaker.success()
        except RedisError:
            self._failed("version")
            return None
        self.book.learn(generation, int(epoch or 0), {name: int(version or 0)})
        return f"{int(epoch or 0)}.{int(version or 0)}"

    async def _get(self, full_key: str) -> Any:
        try:
            return await self.redis.get(full_key)
        except RedisError:
            self._failed("get")
            return None

    async def _load_across_nodes(
        self, full_key: str, kind: str, load: Callable[[], Awaitable[T]]
    ) -> tuple[T, bytes | None]:
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
                    return orjson.loads(cached), cached
        self.stats.loads += 1
        value = await load()
        body = dumps_bytes(value)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(full_key, body, ex=self.ttl.get(kind, 300))
                pipe.delete(lock)
                await pipe.execute()
        except RedisError:
            self._failed("set")
        return value, body

    def _failed(self, operation: str) -> None:
        self.stats.errors += 1
        self.breaker.failure()
        log.debug("cache %s failed", operation)


def _scope(full_key: str) -> str:
    """`<tenant>:<kind>` of `cmms:c:<tenant>:<kind>:<epoch>.<version>:<key>`."""
    parts = full_key.split(":", 5)
    return f"{parts[2]}:{parts[3]}"
