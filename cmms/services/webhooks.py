"""Webhook subscriptions and their delivery log: admins and managers only.

The secret is generated here and returned once, by `create`; no read, event or audit entry
carries it. A subscription receives the events its creator's role may see, from the event after
the one that announced it.
"""

from __future__ import annotations

import secrets
from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import webhooks as repo
from cmms.domain import events as ev
from cmms.domain import webhooks as rules
from cmms.domain.errors import NotFound, ValidationFailed
from cmms.domain.roles import SUPERVISORS, Actor
from cmms.domain.webhook_model import DeliveryQuery, WebhookIn, WebhookPatch
from cmms.services.common import changed_fields, mutation, patch_values, record, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]
SECRET_PREFIX = "whsec_"
EDITABLE = ("url", "events", "active", "description")


def _check_target(deps: Deps, url: str) -> None:
    if not deps.settings.webhooks.allow_private_targets and rules.private_target(url):
        raise ValidationFailed(
            "the URL names a loopback, private or link-local address; receivers must be public"
            " (or set [webhooks] allow_private_targets = true)",
            field="url",
        )


async def list_webhooks(deps: Deps, actor: Actor, limit: int, cursor: str | None) -> Page:
    require(actor, SUPERVISORS, "see webhooks")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.list_page(cur, actor.tenant_id, limit, cursor)


async def get(deps: Deps, actor: Actor, webhook_id: int) -> dict[str, Any]:
    require(actor, SUPERVISORS, "see webhooks")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await repo.get(cur, actor.tenant_id, webhook_id)


async def create(deps: Deps, actor: Actor, data: WebhookIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "create webhooks")
    _check_target(deps, data.url)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    values = {**data.model_dump(), "secret": secret, "role": actor.role.value, "created_by": actor.user_id}
    async with mutation(deps, actor) as cur:
        row = await repo.insert(cur, actor.tenant_id, values)
        await record(
            cur,
            actor,
            action="create",
            entity="webhook",
            entity_id=row["id"],
            changes={"url": data.url, "events": data.events, "active": data.active},
            event=ev.Event(rules.WEBHOOK_CREATED, row, ev.SUPERVISOR_ROOMS),
        )
        await repo.start_after_current_event(cur, actor.tenant_id, row["id"])
    return {**row, "secret": secret}


async def update(deps: Deps, actor: Actor, webhook_id: int, data: WebhookPatch, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "change webhooks")
    changes = patch_values(data)
    if changes.get("url") is not None:
        _check_target(deps, changes["url"])
    async with mutation(deps, actor) as cur:
        current = await repo.get(cur, actor.tenant_id, webhook_id, lock=True)
        crud.check_version(current, version)
        diff = changed_fields(current, {**current, **changes}, EDITABLE)
        if not diff:
            return current
        if changes.get("active") and not current["active"]:
            changes.update(failing_since=None, disabled_reason=None)  # switched on again: a fresh day
        row = await repo.update(cur, actor.tenant_id, webhook_id, changes)
        await record(
            cur,
            actor,
            action="update",
            entity="webhook",
            entity_id=webhook_id,
            changes=diff,
            event=ev.Event(rules.WEBHOOK_UPDATED, {**row, "changed": sorted(diff)}, ev.SUPERVISOR_ROOMS),
        )
        return row


async def delete(deps: Deps, actor: Actor, webhook_id: int, version: int | None) -> None:
    require(actor, SUPERVISORS, "delete webhooks")
    async with mutation(deps, actor) as cur:
        current = await repo.get(cur, actor.tenant_id, webhook_id, lock=True)
        crud.check_version(current, version)
        await repo.delete(cur, actor.tenant_id, webhook_id)
        await record(
            cur,
            actor,
            action="delete",
            entity="webhook",
            entity_id=webhook_id,
            changes={"url": current["url"]},
            event=ev.Event(rules.WEBHOOK_DELETED, {"id": webhook_id}, ev.SUPERVISOR_ROOMS),
        )


async def deliveries(deps: Deps, actor: Actor, webhook_id: int, query: DeliveryQuery) -> Page:
    require(actor, SUPERVISORS, "see webhook deliveries")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await repo.get(cur, actor.tenant_id, webhook_id)
        status = query.status.value if query.status else None
        return await repo.deliveries(cur, actor.tenant_id, webhook_id, status, query.limit, query.cursor)


async def redeliver(deps: Deps, actor: Actor, webhook_id: int, delivery_id: int) -> dict[str, Any]:
    """Queue a delivery again now (same id and body, a fresh retry budget); it goes out first."""
    require(actor, SUPERVISORS, "redeliver webhook events")
    async with mutation(deps, actor) as cur:
        await repo.get(cur, actor.tenant_id, webhook_id, lock=True)
        found = await repo.delivery(cur, actor.tenant_id, webhook_id, delivery_id)
        if found is None:
            raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
        await repo.requeue(cur, actor.tenant_id, delivery_id)
        await record(
            cur,
            actor,
            action="redeliver",
            entity="webhook",
            entity_id=webhook_id,
            changes={"delivery_id": delivery_id, "seq": found["seq"]},
            event=ev.Event(
                rules.DELIVERY_REQUEUED, {"webhook_id": webhook_id, "delivery_id": delivery_id}, ev.SUPERVISOR_ROOMS
            ),
        )
        row = await repo.delivery(cur, actor.tenant_id, webhook_id, delivery_id)
    assert row is not None
    return row
