"""Relay handler: every relayed event becomes a delivery per matching webhook, then a wake-up.

It runs before the relay advances, so a crash replays the event and the insert does nothing
the second time; the sender itself runs on the job workers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cmms.domain import webhooks as rules
from cmms.services import webhook_delivery
from cmms.services.deps import Deps

Handler = Callable[[dict[str, Any]], Awaitable[None]]
Kick = Callable[[int, int], Awaitable[None]]


def webhook_handler(deps: Deps, kick: Kick) -> Handler:
    async def handle(row: dict[str, Any]) -> None:
        tenant_id, data = row["tenant_id"], row["data"]
        intake = await webhook_delivery.intake(deps, row)
        for webhook_id in intake.idle:
            await kick(tenant_id, webhook_id)
        if row["type"] == rules.DELIVERY_REQUEUED:
            await kick(tenant_id, int(data["webhook_id"]))
        elif row["type"] == rules.WEBHOOK_UPDATED and data.get("active") and "active" in data.get("changed", ()):
            await kick(tenant_id, int(data["id"]))  # switched on again: its held-back deliveries go out

    return handle
