"""Access tokens revoked before they expire: logged-out sessions and deactivated users.

Entries live as long as an access token can (its TTL), so the set stays small.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Revocations:
    def __init__(self, redis: Redis, ttl: int) -> None:
        self._redis = redis
        self._ttl = ttl

    async def revoke_session(self, session_id: str) -> None:
        await self._set(f"cmms:revoked:sid:{session_id}")

    async def revoke_user(self, user_id: int) -> None:
        """Every token of the user issued until now; tokens issued after a new login stay valid."""
        await self._set(f"cmms:revoked:user:{user_id}", str(int(time.time() * 1000)))

    async def is_revoked(self, session_id: str, user_id: int | None, issued_ms: int) -> bool:
        try:
            session, user = await self._redis.mget(
                f"cmms:revoked:sid:{session_id}", f"cmms:revoked:user:{user_id or 0}"
            )
        except RedisError:
            log.warning("revocation list unavailable: Redis error; accepting signed token")
            return False
        return session is not None or (user is not None and issued_ms <= int(user))

    async def _set(self, key: str, value: str = "1") -> None:
        try:
            await self._redis.set(key, value, ex=self._ttl)
        except RedisError:
            log.error("could not record a revocation in Redis", extra={"key": key})
