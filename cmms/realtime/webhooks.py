"""Relay handler: each relayed batch of a tenant's events becomes a delivery per event and
matching webhook (one query per batch), then wake-ups for the webhooks no sender holds.

It runs before the relay advances, so a crash replays the events and the insert does nothing
the second time; the sender itself runs on the job workers. Tenants without an active webhook
cost no query: the handler remembers which tenants have one, and forgets a tenant at each of
its `webhook:*` events, which reach it in order with everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cmms.domain import webhooks as rules
from cmms.services import webhook_delivery
from cmms.services.deps import Deps

BatchHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]
Kick = Callable[[int, int], Awaitable[None]]


def webhook_handler(deps: Deps, kick: Kick) -> BatchHandler:
    subscribed: dict[int, bool] = {}  # tenant -> has an active webhook

    async def handle(rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        tenant_id = rows[0]["tenant_id"]
        if any(row["type"].startswith("webhook:") for row in rows):
            subscribed.pop(tenant_id, None)
        if tenant_id not in subscribed:
            subscribed[tenant_id] = await webhook_delivery.has_active(deps, tenant_id)
        if not subscribed[tenant_id]:
            return
        intake = await webhook_delivery.intake_batch(deps, rows)
        wake = set(intake.idle)
        for row in rows:
            data = row["data"]
            if row["type"] == rules.DELIVERY_REQUEUED:
                wake.add(int(data["webhook_id"]))
            elif row["type"] == rules.WEBHOOK_UPDATED and data.get("active") and "active" in data.get("changed", ()):
                wake.add(int(data["id"]))  # switched on again: its held-back deliveries go out
        # side by side: the relay waits for one round trip to Redis, not one per webhook
        await asyncio.gather(*(kick(tenant_id, webhook_id) for webhook_id in sorted(wake)))

    return handle
