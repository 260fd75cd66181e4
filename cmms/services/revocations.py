"""Revoked access that stays revoked: PostgreSQL is the record, Redis and this process keep copies.

A revocation is written in the transaction that ends the session (logout, refresh-token reuse,
deactivation, a role or password change), so it commits or vanishes with it. After the commit it
is copied into this process and into Redis, whose script publishes it to every node. While the
push channel is subscribed and this process has loaded the whole record since, the copy in
process is complete and answers alone: no round trip per request. Otherwise the check asks
Redis; when Redis is unreachable, or has come back empty (its copy's `ready` marker is gone), it
asks PostgreSQL and rebuilds the Redis copy in the background. No answer "not revoked" ever
comes from a copy that could be missing an entry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cmms.cache.revoked import RedisRevocations, Revoked
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import revocations as repo

log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Revocations:
    def __init__(self, pool: Any, copy: RedisRevocations, ttl: int, clock_ms: Callable[[], int] = _now_ms) -> None:
        self._pool = pool
        self._copy = copy
        self.channel = copy.channel
        self._ttl_ms = ttl * 1000
        self._clock_ms = clock_ms
        self._sessions: dict[str, int] = {}  # session id -> expiry (ms)
        self._users: dict[str, tuple[int, int]] = {}  # user id -> (revoked up to ms, expiry ms)
        self._copy_incomplete = False  # a write to Redis failed: do not trust it until rebuilt
        self._rebuild: asyncio.Task[bool] | None = None
        self._next_rebuild = 0.0
        self.complete = False  # the copy in process holds every live revocation (push channel alive)
        self._generation = 0  # moves on whenever the push channel subscribes or is lost
        self._load: asyncio.Task[None] | None = None

    # ---- recording (in the caller's transaction), then announcing (after its commit) ----------

    async def record_session(self, cur: Cursor, tenant_id: int, session_id: str) -> Revoked:
        return await self._record(cur, tenant_id, "session", session_id)

    async def record_user(self, cur: Cursor, tenant_id: int, user_id: int) -> Revoked:
        """Every token of the user issued until now; tokens issued after a new login stay valid."""
        return await self._record(cur, tenant_id, "user", str(user_id))

    async def _record(self, cur: Cursor, tenant_id: int, kind: str, subject: str) -> Revoked:
        now = self._clock_ms()
        entry = Revoked(kind, subject, now, now + self._ttl_ms)
        expires = datetime.fromtimestamp(entry.expires_ms / 1000, UTC)
        await repo.insert(cur, tenant_id, kind, subject, entry.revoked_ms, expires)
        return entry

    async def announce(self, entry: Revoked) -> None:
        self._remember(entry)
        if not await self._copy.add(entry, self._clock_ms()):
            self._copy_incomplete = True
            self._schedule_rebuild()

    # ---- the per-request check ----------------------------------------------------------------

    async def is_revoked(self, tenant_id: int, session_id: str, user_id: int | None, issued_ms: int) -> bool:
        now = self._clock_ms()
        if self._locally_revoked(session_id, user_id, issued_ms, now):
            return True
        if self.complete:
            return False
        found = None if self._copy_incomplete else await self._copy.lookup(session_id, user_id)
        if found is None:
            found = await self._from_record(tenant_id, session_id, user_id)
            self._schedule_rebuild()
        session, user_ms = found
        if session:
            self._sessions[session_id] = now + self._ttl_ms
        if user_ms is not None and user_id is not None:
            self._remember(Revoked("user", str(user_id), user_ms, user_ms + self._ttl_ms))
        return session or (user_ms is not None and issued_ms <= user_ms)

    def _locally_revoked(self, session_id: str, user_id: int | None, issued_ms: int, now: int) -> bool:
        expiry = self._sessions.get(session_id)
        if expiry is not None:
            if expiry > now:
                return True
            del self._sessions[session_id]
        user = self._users.get(str(user_id)) if user_id is not None else None
        return user is not None and user[1] > now and issued_ms <= user[0]

    def _remember(self, entry: Revoked) -> None:
        if entry.kind == "session":
            self._sessions[entry.subject] = max(self._sessions.get(entry.subject, 0), entry.expires_ms)
        else:
            known = self._users.get(entry.subject)
            if known is None or known[0] < entry.revoked_ms:
                self._users[entry.subject] = (entry.revoked_ms, entry.expires_ms)
        if len(self._sessions) + len(self._users) > 10_000:
            self._prune()

    def _prune(self) -> None:
        now = self._clock_ms()
        self._sessions = {k: v for k, v in self._sessions.items() if v > now}
        self._users = {k: v for k, v in self._users.items() if v[1] > now}

    # ---- the push channel's subscriber ----------------------------------------------------------

    def on_message(self, data: str) -> None:
        try:
            self._remember(Revoked.from_message(data))
        except ValueError:
            self.complete = False  # a message this version cannot read: ask Redis from now on
            log.warning("unreadable revocation message; checks go to Redis", extra={"message": data[:80]})

    def on_subscribed(self) -> None:
        self._generation += 1
        if self._load is not None:
            self._load.cancel()
        self._load = asyncio.create_task(self._load_record(self._generation), name="revocations-load")

    def on_lost(self) -> None:
        self._generation += 1
        self.complete = False

    async def _load_record(self, generation: int, every: float = 1.0) -> None:
        """Everything revoked so far; together with the messages from now on, the whole record.
        The Redis copy, which processes without a subscription rely on, is rebuilt here too when
        Redis came back without it: checks answered in process would never notice."""
        while generation == self._generation:
            try:
                entries = await self._live()
            except Exception as exc:
                log.debug("revocations not loaded yet: %r", exc)
                await asyncio.sleep(every)
                continue
            for entry in entries:
                self._remember(entry)
            self.complete = generation == self._generation
            try:
                if self._copy_incomplete or not await self._copy.is_ready():  # Redis came back empty
                    await self._copy.rebuild(entries, self._clock_ms())
                    self._copy_incomplete = False
            except Exception as exc:
                log.debug("revocation copy not rebuilt yet: %r", exc)
                self._copy_incomplete = True
                self._schedule_rebuild()
            return

    async def _live(self) -> list[Revoked]:
        async with transaction(self._pool, None) as cur:
            rows = await repo.live(cur)
        return [
            Revoked(r["kind"], r["subject"], int(r["revoked_ms"]), int(r["expires_at"].timestamp() * 1000))
            for r in rows
        ]

    async def _from_record(self, tenant_id: int, session_id: str, user_id: int | None) -> tuple[bool, int | None]:
        async with transaction(self._pool, tenant_id) as cur:
            return await repo.lookup(cur, tenant_id, session_id, user_id)

    # ---- rebuilding the Redis copy ------------------------------------------------------------

    def _schedule_rebuild(self) -> None:
        if (self._rebuild is not None and not self._rebuild.done()) or time.monotonic() < self._next_rebuild:
            return
        self._next_rebuild = time.monotonic() + 1.0  # at most one attempt a second while Redis is away
        self._rebuild = asyncio.create_task(self.rebuild(), name="revocations-rebuild")

    async def rebuild(self) -> bool:
        """Copy the record into Redis; True when the copy is complete and trusted again."""
        try:
            if self._copy_incomplete:
                await self._copy.forget_ready()
            entries = await self._live()
            await self._copy.rebuild(entries, self._clock_ms())
        except Exception as exc:
            log.debug("revocation copy not rebuilt yet: %r", exc)
            return False
        self._copy_incomplete = False
        log.info("revocations copied to Redis from PostgreSQL", extra={"entries": len(entries)})
        return True

    async def close(self) -> None:
        tasks = [t for t in (self._rebuild, self._load) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
