"""A dedicated connection that holds the relay's leadership lock and listens for outbox NOTIFYs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiopg

from cmms.db.repos.events import NOTIFY_CHANNEL

RELAY_LOCK = 0x52454C4159  # "RELAY"


class Listener:
    def __init__(self, conn: aiopg.Connection) -> None:
        self._conn = conn

    async def wait(self, seconds: float) -> bool:
        """True when a notification arrived within `seconds`; drains any that queued up."""
        try:
            await asyncio.wait_for(self._conn.notifies.get(), seconds)
        except TimeoutError:
            return False
        while not self._conn.notifies.empty():
            self._conn.notifies.get_nowait()
        return True

    @property
    def closed(self) -> bool:
        return bool(self._conn.closed)


@asynccontextmanager
async def leadership(dsn: str) -> AsyncIterator[Listener | None]:
    """Yield a Listener when this process won the relay lock, None when another process holds it.

    The lock is tied to the connection: if this process dies, PostgreSQL releases it and another
    node's relay takes over on its next attempt.
    """
    async with aiopg.connect(dsn, timeout=10.0) as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,))
            row = await cur.fetchone()
            if not row or not row[0]:
                yield None
                return
            await cur.execute(f"LISTEN {NOTIFY_CHANNEL}")
            yield Listener(conn)
