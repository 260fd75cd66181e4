"""Failed-login counters in Redis: per account and per client address, in a fixed window."""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class LoginThrottle:
    def __init__(self, redis: Redis, *, per_account: int, per_address: int, window: int) -> None:
        self._redis = redis
        self._limits = {"acct": per_account, "addr": per_address}
        self._window = window

    @staticmethod
    def _keys(tenant: str, email: str, address: str) -> dict[str, str]:
        return {
            "acct": f"cmms:login-fail:acct:{tenant.lower()}:{email.lower()}",
            "addr": f"cmms:login-fail:addr:{address}",
        }

    async def retry_after(self, tenant: str, email: str, address: str) -> int:
        """Seconds until a login may be tried again; 0 when allowed. Fails open without Redis."""
        keys = self._keys(tenant, email, address)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys.values():
                    pipe.get(key)
                    pipe.ttl(key)
                counts = await pipe.execute()
        except RedisError:
            log.warning("login throttle unavailable: Redis error")
            return 0
        wait = 0
        for i, kind in enumerate(keys):
            count, ttl = counts[2 * i], counts[2 * i + 1]
            if count is not None and int(count) >= self._limits[kind]:
                wait = max(wait, ttl if ttl and ttl > 0 else self._window)
        return wait

    async def failed(self, tenant: str, email: str, address: str) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in self._keys(tenant, email, address).values():
                    pipe.incr(key)
                    pipe.expire(key, self._window, nx=True)
                await pipe.execute()
        except RedisError:
            log.warning("login throttle unavailable: Redis error")

    async def succeeded(self, tenant: str, email: str, address: str) -> None:
        try:
            await self._redis.delete(self._keys(tenant, email, address)["acct"])
        except RedisError:
            log.warning("login throttle unavailable: Redis error")
