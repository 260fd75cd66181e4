"""The delivery pipeline's use cases: deliveries from relayed events, and a sender's steps.

The relay calls `intake` for every event before it advances its position, so a crash replays the
event and the unique (webhook, seq) turns the second insert into nothing. A sender takes a lease
on the webhook, sends the first pending delivery by seq, records the attempt and either moves on
or schedules the retry in the row; `due` is the sweep that finds work a lost sender left.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cmms.db.pool import Cursor, fetchone, transaction
from cmms.db.repos import events as event_log
from cmms.db.repos import webhook_deliveries as repo
from cmms.db.repos import webhooks as hooks
from cmms.domain import events as ev
from cmms.domain import webhooks as rules
from cmms.domain.roles import Actor, Role
from cmms.domain.webhook_model import DeliveryStatus, delivery_body
from cmms.services.common import record
from cmms.services.deps import Deps
from cmms.wire import dumps


@dataclass(frozen=True)
class Intake:
    created: list[int]  # webhooks that got a new delivery
    idle: list[int]  # of those, the ones no sender holds: they need a wake-up


@dataclass(frozen=True)
class Lease:
    webhook_id: int
    url: str
    secret: str


@dataclass(frozen=True)
class Settled:
    retry_in: float | None  # seconds until this delivery's next attempt; None: move on
    stop: bool = False  # the webhook was switched off


@dataclass(frozen=True)
class Pending:
    id: int
    seq: int
    event: str
    body: bytes
    tries: int
    due: bool
    next_attempt_at: Any


def lease_seconds(deps: Deps) -> float:
    """Longer than one attempt can take, so a live sender renews it before it runs out."""
    w = deps.settings.webhooks
    return w.connect_timeout + w.timeout + 15.0


async def intake(deps: Deps, row: dict[str, Any]) -> Intake:
    """Turn one relayed outbox row into a delivery per matching webhook."""
    tenant_id, seq = row["tenant_id"], row["seq"]
    async with transaction(deps.pool, tenant_id) as cur:
        hooks = await repo.matching(cur, tenant_id, seq, rules.candidates(row["type"]), list(row["audience"]))
        if not hooks:
            return Intake([], [])
        body = dumps(delivery_body(row))
        created = await repo.insert(cur, tenant_id, [h["id"] for h in hooks], seq, row["type"], body)
    busy = {h["id"] for h in hooks if h["busy"]}
    return Intake(created, [h for h in created if h not in busy])


async def take_lease(deps: Deps, tenant_id: int, webhook_id: int, owner: str) -> Lease | None:
    async with transaction(deps.pool, tenant_id) as cur:
        row = await repo.lease(cur, tenant_id, webhook_id, owner, lease_seconds(deps))
    return None if row is None else Lease(webhook_id, row["url"], row["secret"])


async def release(deps: Deps, tenant_id: int, webhook_id: int, owner: str) -> None:
    async with transaction(deps.pool, tenant_id) as cur:
        await repo.release(cur, tenant_id, webhook_id, owner)


async def head(deps: Deps, tenant_id: int, webhook_id: int) -> Pending | None:
    async with transaction(deps.pool, tenant_id) as cur:
        row = await repo.head(cur, tenant_id, webhook_id)
    if row is None:
        return None
    body = row["body"].encode()
    return Pending(row["id"], row["seq"], row["event"], body, row["tries"], bool(row["due"]), row["next_attempt_at"])


async def settle(
    deps: Deps, tenant_id: int, lease: Lease, pending: Pending, outcome: dict[str, Any], owner: str
) -> Settled:
    """Record an attempt and what follows from it: move on, retry later, or stop.

    Also renews the lease, and switches the webhook off (notifying its creator) once it has
    failed for `[webhooks] disable_after_seconds`.
    """
    settings = deps.settings.webhooks
    code = outcome["status_code"]
    ok = code is not None and 200 <= code < 300
    tries = pending.tries + 1
    retry_in: float | None = None
    if ok:
        status = DeliveryStatus.DELIVERED
    elif tries >= settings.max_attempts:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
        retry_in = rules.retry_delay(tries, settings.retry_base_seconds, random.random())
    async with transaction(deps.pool, tenant_id) as cur:
        attempts = await _attempt_number(cur, tenant_id, pending.id)
        await repo.add_attempt(cur, tenant_id, pending.id, attempts, outcome)
        await repo.settle(cur, tenant_id, pending.id, status=status.value, outcome=outcome, retry_in=retry_in)
        health = await repo.mark_health(cur, tenant_id, lease.webhook_id, ok)
        await repo.lease(cur, tenant_id, lease.webhook_id, owner, lease_seconds(deps))
        failing_for = health["failing_for"] if health else None
        if health and health["active"] and failing_for is not None:
            if failing_for >= timedelta(seconds=settings.disable_after_seconds):
                await _switch_off(cur, tenant_id, lease.webhook_id, health["created_by"], failing_for)
                return Settled(None, stop=True)
    return Settled(retry_in)


async def _attempt_number(cur: Cursor, tenant_id: int, delivery_id: int) -> int:
    row = await fetchone(
        cur,
        "SELECT attempts FROM webhook_deliveries WHERE tenant_id = %s AND id = %s FOR UPDATE",
        (tenant_id, delivery_id),
    )
    return int(row["attempts"]) + 1 if row else 1


async def _switch_off(
    cur: Cursor, tenant_id: int, webhook_id: int, creator: int | None, failing_for: timedelta
) -> None:
    hours = round(failing_for.total_seconds() / 3600, 1)
    reason = f"every delivery failed for {hours} h"
    row = await hooks.update(cur, tenant_id, webhook_id, {"active": False, "disabled_reason": reason})
    operator = Actor(tenant_id=tenant_id, user_id=None, role=Role.ADMIN, request_id=f"webhook-{webhook_id}")
    await record(
        cur,
        operator,
        action="disable",
        entity="webhook",
        entity_id=webhook_id,
        changes={"active": [True, False], "reason": reason},
        event=ev.Event(rules.WEBHOOK_UPDATED, {**row, "changed": ["active"]}, ev.SUPERVISOR_ROOMS),
    )
    if creator is not None:
        notice = {
            "kind": "webhook_disabled",
            "webhook_id": webhook_id,
            "title": f"Webhook {webhook_id} switched off",
            "body": f"{row['url']}: {reason}. Fix the receiver, then switch the webhook on again.",
            "level": "warning",
            "link": f"/webhooks/{webhook_id}",
        }
        await event_log.publish(cur, tenant_id, ev.Event(ev.NOTIFICATION, notice, ev.user_audience(creator)))


async def due(deps: Deps) -> list[tuple[int, int]]:
    """(tenant, webhook) pairs whose first pending delivery is due and that no live sender holds."""
    async with transaction(deps.pool, None) as cur:
        return await repo.due_webhooks(cur)


async def purge(deps: Deps) -> int:
    async with transaction(deps.pool, None) as cur:
        return await repo.purge(cur, deps.settings.webhooks.retention_days)
