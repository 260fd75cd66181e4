"""The delivery pipeline's use cases: deliveries from relayed events, and a sender's steps.

The relay calls `intake` for every event before it advances its position, so a crash replays the
event and the unique (webhook, seq) turns the second insert into nothing. A sender takes a lease
on the webhook, sends the first pending delivery by seq, records the attempt and either moves on
or schedules the retry in the row; `due` is the sweep that finds work a lost sender left.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cmms.db.pool import Cursor, transaction
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


@dataclass
class Lease:
    """What a sender knows of the webhook it holds; `failing` and `renewed` save writes per attempt."""

    webhook_id: int
    url: str
    secret: str
    failing: bool
    renewed: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Settled:
    retry_in: float | None  # seconds until this delivery's next attempt; None: move on
    stop: bool = False  # the webhook was switched off
    following: list[Pending] = field(default_factory=list)  # the next pending ones, in seq order


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


async def has_active(deps: Deps, tenant_id: int) -> bool:
    async with transaction(deps.pool, tenant_id) as cur:
        return await repo.has_active(cur, tenant_id)


async def intake(deps: Deps, row: dict[str, Any]) -> Intake:
    """One relayed outbox row as deliveries (see `intake_batch`)."""
    return await intake_batch(deps, [row])


async def intake_batch(deps: Deps, rows: list[dict[str, Any]]) -> Intake:
    """Turn relayed outbox rows of one tenant into a delivery per event and matching webhook."""
    if not rows:
        return Intake([], [])
    tenant_id = rows[0]["tenant_id"]
    events = [
        {
            "seq": row["seq"],
            "type": row["type"],
            "body": dumps(delivery_body(row)),
            "patterns": rules.candidates(row["type"]),
            "audience": list(row["audience"]),
        }
        for row in rows
    ]
    async with transaction(deps.pool, tenant_id) as cur:
        made = await repo.deliver(cur, tenant_id, events)
    return Intake([m["webhook_id"] for m in made], [m["webhook_id"] for m in made if not m["busy"]])


async def take_lease(deps: Deps, tenant_id: int, webhook_id: int, owner: str) -> Lease | None:
    async with transaction(deps.pool, tenant_id) as cur:
        row = await repo.lease(cur, tenant_id, webhook_id, owner, lease_seconds(deps))
    if row is None:
        return None
    return Lease(webhook_id, row["url"], row["secret"], row["failing_since"] is not None)


async def release(deps: Deps, tenant_id: int, webhook_id: int, owner: str) -> None:
    async with transaction(deps.pool, tenant_id) as cur:
        await repo.release(cur, tenant_id, webhook_id, owner)


async def heads(deps: Deps, tenant_id: int, webhook_id: int, limit: int = 50) -> list[Pending]:
    """The webhook's first pending deliveries in seq order (a sender sends them in turn)."""
    async with transaction(deps.pool, tenant_id) as cur:
        rows = await repo.heads(cur, tenant_id, webhook_id, limit)
    return _pending(rows)


def _pending(rows: list[dict[str, Any]]) -> list[Pending]:
    return [
        Pending(r["id"], r["seq"], r["event"], r["body"].encode(), r["tries"], bool(r["due"]), r["next_attempt_at"])
        for r in rows
    ]


async def head(deps: Deps, tenant_id: int, webhook_id: int) -> Pending | None:
    first = await heads(deps, tenant_id, webhook_id, 1)
    return first[0] if first else None


async def record_successes(
    deps: Deps, tenant_id: int, lease: Lease, done: list[tuple[Pending, dict[str, Any]]], owner: str, following: int = 0
) -> list[Pending]:
    """Record delivered attempts together (one statement); returns the next pending deliveries."""
    outcomes = [
        {"id": p.id, "status_code": o["status_code"], "duration_ms": o["duration_ms"], "response": o["response"]}
        for p, o in done
    ]
    async with transaction(deps.pool, tenant_id) as cur:
        rows = await repo.record_successes(cur, tenant_id, lease.webhook_id, outcomes, following)
        if time.monotonic() - lease.renewed > lease_seconds(deps) / 3:
            await repo.lease(cur, tenant_id, lease.webhook_id, owner, lease_seconds(deps))
            lease.renewed = time.monotonic()
        if lease.failing:
            await repo.mark_health(cur, tenant_id, lease.webhook_id, True)
            lease.failing = False
    return _pending(rows)


async def settle(
    deps: Deps,
    tenant_id: int,
    lease: Lease,
    pending: Pending,
    outcome: dict[str, Any],
    owner: str,
    following: int = 0,
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
        rows = await repo.record_attempt(
            cur,
            tenant_id,
            lease.webhook_id,
            pending.id,
            status=status.value,
            outcome=outcome,
            retry_in=retry_in,
            following=following,
        )
        if time.monotonic() - lease.renewed > lease_seconds(deps) / 3:
            await repo.lease(cur, tenant_id, lease.webhook_id, owner, lease_seconds(deps))
            lease.renewed = time.monotonic()
        if ok and not lease.failing:
            return Settled(None, following=_pending(rows))  # the common case: one statement
        health = await repo.mark_health(cur, tenant_id, lease.webhook_id, ok)
        lease.failing = not ok
        failing_for = health["failing_for"] if health else None
        if health and health["active"] and failing_for is not None:
            if failing_for >= timedelta(seconds=settings.disable_after_seconds):
                await _switch_off(cur, tenant_id, lease.webhook_id, health["created_by"], failing_for)
                return Settled(None, stop=True)
    return Settled(retry_in, following=_pending(rows))


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
