"""The Redis copy of the revocation record, shared by every node.

PostgreSQL holds the record (`revocations`); this copy answers the per-request check in one round
trip. Redis may come back from a restart empty, so the copy is only trusted while its `ready`
marker exists: the marker is written in the same MULTI as a rebuild from PostgreSQL, and a
lookup that finds it missing answers "unknown" instead of "not revoked". Every write to the copy
also publishes its entry (`cmms:push:revoked:db<n>`), in the same script, for the copies in process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cmms.cache.breaker import Breaker

log = logging.getLogger(__name__)
READY = "cmms:revoked:ready"
# Keep the later of two revocations of one subject, and the later expiry with it; tell every node.
_KEEP_LATEST = """
local v = redis.call('GET', KEYS[1])
if not v or tonumber(v) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""


@dataclass(frozen=True)
class Revoked:
    kind: str  # "session" or "user"
    subject: str  # the session (refresh-token family) id, or the user id
    revoked_ms: int  # tokens issued at or before this instant are refused
    expires_ms: int  # no token issued before `revoked_ms` lives past this instant

    @property
    def key(self) -> str:
        return key_of(self.kind, self.subject)

    @property
    def message(self) -> str:
        return f"{self.kind} {self.revoked_ms} {self.expires_ms} {self.subject}"

    @classmethod
    def from_message(cls, text: str) -> Revoked:
        kind, revoked_ms, expires_ms, subject = text.split(" ", 3)
        return cls(kind, subject, int(revoked_ms), int(expires_ms))


def key_of(kind: str, subject: str) -> str:
    return f"cmms:revoked:{kind}:{subject}"


class RedisRevocations:
    def __init__(self, redis: Redis, breaker: Breaker | None = None, channel: str = "cmms:push:revoked:db0") -> None:
        self._redis = redis
        self.channel = channel
        self._keep_latest = redis.register_script(_KEEP_LATEST)
        # While Redis fails, checks go to PostgreSQL at once instead of each waiting for a timeout.
        self.breaker = breaker or Breaker(name="revocations")

    async def lookup(self, session_id: str, user_id: int | None) -> tuple[bool, int | None] | None:
        """(session revoked, user's tokens revoked up to ms), or None when the copy cannot be trusted."""
        if not self.breaker.allow():
            return None
        try:
            session, user, ready = await self._redis.mget(
                key_of("session", session_id), key_of("user", str(user_id or 0)), READY
            )
        except RedisError:
            self.breaker.failure()
            return None
        self.breaker.success()
        if ready is None:
            return None
        return session is not None, (int(user) if user is not None else None)

    async def add(self, entry: Revoked, now_ms: int) -> bool:
        try:
            await self._keep_latest(keys=[entry.key], args=self._args(entry, now_ms))
        except RedisError:
            log.warning("revocation not copied to Redis; the copy will be rebuilt", extra={"kind": entry.kind})
            return False
        return True

    async def rebuild(self, entries: Iterable[Revoked], now_ms: int) -> None:
        """Copy the whole record and mark the copy ready, atomically (raises RedisError)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                if entry.expires_ms > now_ms:
                    await self._keep_latest(keys=[entry.key], args=self._args(entry, now_ms), client=pipe)
            pipe.set(READY, str(now_ms))
            await pipe.execute()

    def _args(self, entry: Revoked, now_ms: int) -> list[str | int]:
        return [entry.revoked_ms, max(entry.expires_ms - now_ms, 1), self.channel, entry.message]

    async def is_ready(self) -> bool:
        """Whether the copy is complete (raises RedisError)."""
        return bool(await self._redis.exists(READY))

    async def forget_ready(self) -> None:
        """Stop trusting the copy until the next rebuild (after a write to it failed)."""
        try:
            await self._redis.delete(READY)
        except RedisError:
            pass
