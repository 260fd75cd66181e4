"""Relay handler: every relayed event becomes a delivery per matching webhook, then a wake-up.

It runs before the relay advances, so a crash replays the event and the insert does nothing
the second time; the sender itself runs on the job workers. Tenants without an active webhook
cost no query per event: the handler remembers which tenants have one, and forgets a tenant at
each of its `webhook:*` events, which reach it in order with everything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from cmms.domain import webhooks as rules
from cmms.services import webhook_delivery
from cmms.services.deps import Deps

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Kick = Callable[[int, int], Awaitable[None]]


def webhook_handler(deps: Deps, kick: Kick) -> Handler:
    subscribed: dict[int, bool] = {}  # tenant -> has an active webhook

    async def handle(row: dict[str, Any]) -> None:
        tenant_id, data, kind = row["tenant_id"], row["data"], row["type"]
        if kind.startswith("webhook:"):
            subscribed.pop(tenant_id, None)
        if tenant_id not in subscribed:
            subscribed[tenant_id] = await webhook_delivery.has_active(deps, tenant_id)
        if not subscribed[tenant_id]:
            return
        intake = await webhook_delivery.intake(deps, row)
        # side by side: the relay waits for one round trip to Redis, not one per webhook
        await asyncio.gather(*(kick(tenant_id, webhook_id) for webhook_id in intake.idle))
        if kind == rules.DELIVERY_REQUEUED:
            await kick(tenant_id, int(data["webhook_id"]))
        elif kind == rules.WEBHOOK_UPDATED and data.get("active") and "active" in data.get("changed", ()):
            await kick(tenant_id, int(data["id"]))  # switched on again: its held-back deliveries go out

    return handle
