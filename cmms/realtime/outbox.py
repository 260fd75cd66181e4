"""The outbox relay: delivers committed events in `seq` order, exactly one relay per cluster.

Woken by LISTEN/NOTIFY, with a poll as the safety net. It records how far it got per tenant only
after delivering, so a crash replays (clients de-duplicate by `seq`) and nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from cmms.db.notify import leadership
from cmms.services import events
from cmms.services.deps import Deps

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Awaitable[None]]
BatchHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]  # one tenant's events, in seq order
BATCH = 500
PURGE_EVERY = 600.0


class OutboxRelay:
    def __init__(
        self,
        deps: Deps,
        dsn: str,
        handlers: list[Handler],
        *,
        poll_interval: float = 1.0,
        batch_handlers: list[BatchHandler] | None = None,
    ) -> None:
        self.deps = deps
        self.dsn = dsn
        self.handlers = handlers
        self.batch_handlers = batch_handlers or []  # one call per batch: one query, not one per event
        self.poll_interval = poll_interval
        self.is_leader = False
        self._last_purge = 0.0

    async def run(self) -> None:
        """Forever: win the lock (or wait for it), then relay until the connection is lost."""
        while True:
            try:
                async with leadership(self.dsn) as listener:
                    if listener is None:
                        self.is_leader = False
                        await asyncio.sleep(2.0)
                        continue
                    self.is_leader = True
                    log.info("outbox relay active on this node")
                    while not listener.closed:
                        await self.drain()
                        await listener.wait(self.poll_interval)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.is_leader = False
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def drain(self) -> int:
        """Deliver everything committed and not yet relayed; returns how many events went out."""
        sent = 0
        for tenant in await events.backlog(self.deps):
            tenant_id, after = tenant["tenant_id"], tenant["last_seq"]
            while True:
                rows = await events.batch(self.deps, tenant_id, after, BATCH)
                if not rows:
                    break
                for row in rows:
                    for handler in self.handlers:
                        await handler(row)
                for batch_handler in self.batch_handlers:
                    await batch_handler(rows)
                after = rows[-1]["seq"]
                await events.advance(self.deps, tenant_id, after)
                sent += len(rows)
                if len(rows) < BATCH:
                    break
        if time.monotonic() - self._last_purge > PURGE_EVERY:
            self._last_purge = time.monotonic()
            await events.purge(self.deps)
        return sent


CACHED_KINDS = {"order": "orders", "asset": "assets", "alert": "alerts", "plan": "plans"}


def cache_handler(deps: Deps) -> Handler:
    """Relay handler that invalidates the cache kind of each event: the safety net for every node."""

    async def handle(row: dict[str, Any]) -> None:
        kind = CACHED_KINDS.get(row["type"].partition(":")[0])
        if kind is not None:
            await deps.cache.invalidate(row["tenant_id"], kind)

    return handle


def email_handler(deps: Deps) -> Handler:
    """Relay handler that turns assignments and alerts into e-mail jobs."""
    from cmms.domain.events import ALERT_TRIGGERED, NOTIFICATION
    from cmms.domain.jobs import JobIn, JobKind
    from cmms.domain.roles import Actor, Role
    from cmms.services import jobs

    async def handle(row: dict[str, Any]) -> None:
        data = row["data"]
        if row["type"] == NOTIFICATION and data.get("kind") == "order_assigned":
            params = {"template": "order_assigned", "order_id": data["order_id"]}
        elif row["type"] == ALERT_TRIGGERED:
            params = {"template": "alert_triggered", "alert_id": data["id"]}
        else:
            return
        operator = Actor(tenant_id=row["tenant_id"], user_id=None, role=Role.ADMIN, request_id=f"event-{row['seq']}")
        await jobs.create(deps, operator, JobIn(kind=JobKind.EMAIL, params=params))

    return handle


def search_handler(search: Any) -> Handler:
    """Relay handler that tells the search backend a tenant changed; it indexes in its own task."""

    async def handle(row: dict[str, Any]) -> None:
        search.changed(row["tenant_id"])

    return handle


def socket_handler(realtime: Any) -> Handler:
    """Relay handler that emits each event to its rooms and closes sockets the event ends."""
    from cmms.domain.events import ends_sockets

    async def handle(row: dict[str, Any]) -> None:
        envelope = {
            "seq": row["seq"],
            "type": row["type"],
            "at": row["at"],
            "tenant_id": row["tenant_id"],
            "data": row["data"],
        }
        await realtime.deliver(envelope, row["audience"])
        selector = ends_sockets(row["type"], row["data"])
        if selector is not None:
            await realtime.end_sockets(selector)

    return handle
