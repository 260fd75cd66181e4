"""What every use case is handed: the pool, Redis and settings, created once by the runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cmms.cache.cache import Cache
from cmms.cache.throttle import LoginThrottle
from cmms.config import Settings
from cmms.files.base import FileStore
from cmms.search.base import SearchBackend
from cmms.services.key_cache import KeyCache
from cmms.services.passwords import Passwords
from cmms.services.queue import JobQueue
from cmms.services.revocations import Revocations
from cmms.services.tokens import DecodedTokens


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    pool: Any  # aiopg.Pool whose connections run as the RLS-bound application role
    redis: Any  # redis.asyncio.Redis
    settings: Settings
    jwt_secret: str
    throttle: LoginThrottle
    revocations: Revocations
    cache: Cache
    jobs: JobQueue
    files: FileStore  # attachments and job results (PostgreSQL or S3), shared by every node
    passwords: Passwords = field(default_factory=Passwords)
    decoded_tokens: DecodedTokens = field(default_factory=DecodedTokens)
    api_keys: KeyCache = field(default_factory=KeyCache)
    search: SearchBackend | None = None  # None: PostgreSQL search on `pool` (the runtime sets it)
    clock: Callable[[], datetime] = field(default=utcnow)
