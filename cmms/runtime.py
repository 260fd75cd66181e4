"""The composition root: opens every resource once, in order, and closes them in reverse.

The daemon, the workers and every CLI command use `open_runtime`, so they share one code path
whether PostgreSQL and Redis are embedded or external.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from cmms.cache.cache import Cache
from cmms.cache.push import PushChannel, channel_name
from cmms.cache.revoked import RedisRevocations
from cmms.cache.throttle import LoginThrottle
from cmms.cache.versions import VersionBook
from cmms.config import ConfigError, Settings
from cmms.db.migrate import migrate
from cmms.db.pool import open_pool, transaction
from cmms.embedded import embedded_postgres, embedded_redis
from cmms.files import open_files
from cmms.jobs.schedule import Scheduler, periodic_jobs
from cmms.jobs.system import JobSystem, open_job_system, run_workers
from cmms.search import open_search
from cmms.services.deps import Deps
from cmms.services.passwords import Passwords
from cmms.services.revocations import Revocations

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    data_dir: Path
    dsn: str
    redis_url: str
    deps: Deps
    job_system: JobSystem
    push: PushChannel

    @property
    def socket_channel(self) -> str:
        """The Socket.IO pub/sub channel. Redis pub/sub ignores database numbers, so deployments
        sharing one Redis on different databases get different channels unless one is configured."""
        if self.settings.realtime.channel:
            return self.settings.realtime.channel
        database = urlparse(self.redis_url).path.strip("/") or "0"
        return f"cmms-socketio-db{database}" if database.isdigit() else "cmms-socketio"

    async def run_workers(self, concurrency: int | None = None) -> None:
        await run_workers(
            self.deps,
            self.job_system,
            self.data_dir,
            concurrency=concurrency or self.settings.jobs.concurrency,
            channel=self.socket_channel,
        )

    def scheduler(self) -> Scheduler:
        j = self.settings.jobs
        return Scheduler(
            self.deps,
            self.deps.redis,
            periodic_jobs(j.maintenance_every, j.cleanup_every, j.backup_every),
            heartbeat_timeout=j.stale_after,
            tick=j.scheduler_tick,
        )

    async def readiness(self) -> dict[str, dict[str, object]]:
        return {
            "postgres": await _timed(self._check_postgres()),
            "redis": await _timed(self.deps.redis.ping()),
            "search": await _search_health(self.deps),
        }

    async def _check_postgres(self) -> None:
        async with transaction(self.deps.pool, None) as cur:
            await cur.execute("SELECT 1")


async def _search_health(deps: Deps) -> dict[str, object]:
    """Search stays ready while Elasticsearch is away: PostgreSQL answers; the entry says so."""
    if deps.search is None:
        return {"ok": True, "backend": "postgres"}
    try:
        return await asyncio.wait_for(deps.search.health(), timeout=2.0)
    except Exception as exc:
        return {"ok": True, "backend": deps.search.name, "degraded": f"health check failed: {exc!r}"}


async def _timed(check: Any) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, timeout=2.0)
    except Exception as exc:
        return {"ok": False, "error": str(exc) or type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}


async def _enter_in_thread(stack: AsyncExitStack, cm: AbstractContextManager[T]) -> T:
    value = await asyncio.to_thread(cm.__enter__)
    stack.push_async_callback(asyncio.to_thread, cm.__exit__, None, None, None)
    return value


def jwt_secret(settings: Settings, data_dir: Path) -> str:
    """The configured secret, or one generated on first start and kept in the data dir (0600)."""
    if settings.jwt.secret:
        if len(settings.jwt.secret.encode()) < 32:
            raise ConfigError("CMMS_JWT_SECRET must be at least 32 bytes")
        return settings.jwt.secret
    path = data_dir / "jwt.secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@asynccontextmanager
async def open_servers(settings: Settings) -> AsyncIterator[tuple[str, str]]:
    """The PostgreSQL DSN and Redis URL: configured ones, or the data dir's embedded servers."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        dsn = settings.database.url or await _enter_in_thread(stack, embedded_postgres(data_dir))
        redis_url = settings.redis.url or await _enter_in_thread(stack, embedded_redis(data_dir))
        yield dsn, redis_url


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    data_dir = settings.data_dir
    async with AsyncExitStack() as stack:
        dsn, redis_url = await stack.enter_async_context(open_servers(settings))
        await migrate(dsn)
        pool = await stack.enter_async_context(
            open_pool(
                dsn,
                minsize=settings.database.pool_min,
                maxsize=settings.database.pool_max,
                statement_timeout_ms=settings.database.statement_timeout_ms,
                connect_timeout=settings.database.connect_timeout,
            )
        )
        redis = aioredis.Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            health_check_interval=30,
        )
        stack.push_async_callback(redis.aclose)
        cache_redis = aioredis.Redis.from_url(
            redis_url,
            socket_timeout=settings.cache.timeout,
            socket_connect_timeout=settings.cache.timeout,
            retry=Retry(NoBackoff(), 1),
        )
        stack.push_async_callback(cache_redis.aclose)
        job_system = await stack.enter_async_context(open_job_system(redis_url))
        search = await stack.enter_async_context(open_search(settings.elasticsearch.url, pool))
        files = await stack.enter_async_context(open_files(settings.files, pool))
        auth = settings.auth
        revoked_copy = RedisRevocations(redis, channel=channel_name("revoked", redis_url))
        revocations = Revocations(pool, revoked_copy, settings.jwt.access_ttl)
        stack.push_async_callback(revocations.close)
        cache = Cache(
            cache_redis,
            settings.cache.ttls(),
            enabled=settings.cache.enabled,
            book=VersionBook(channel_name("cache", redis_url)),
        )
        stack.push_async_callback(cache.close)
        push = PushChannel(redis)  # run by long-lived processes (`cmms serve`): see cmms.cache.push
        push.add(cache.book)
        push.add(revocations)
        deps = Deps(
            pool=pool,
            redis=redis,
            settings=settings,
            jwt_secret=jwt_secret(settings, data_dir),
            throttle=LoginThrottle(
                redis,
                per_account=auth.max_failures_account,
                per_address=auth.max_failures_address,
                window=auth.failure_window,
            ),
            revocations=revocations,
            passwords=Passwords(time_cost=auth.password_time_cost, memory_kib=auth.password_memory_kib),
            cache=cache,
            jobs=job_system.queue,
            files=files,
            search=search,
        )
        yield Runtime(
            settings=settings,
            data_dir=data_dir,
            dsn=dsn,
            redis_url=redis_url,
            deps=deps,
            job_system=job_system,
            push=push,
        )
