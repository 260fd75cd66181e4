"""Alerts: staff see and handle them (open -> acknowledged -> resolved); requesters never do."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor
from cmms.db.repos import alerts
from cmms.db.repos import assets as asset_repo
from cmms.domain import events as ev
from cmms.domain.errors import InvalidTransition, StaleVersion, ValidationFailed
from cmms.domain.model import AlertIn
from cmms.domain.model_queries import AlertQuery
from cmms.domain.model_types import AlertStatus, Severity
from cmms.domain.roles import STAFF, Actor
from cmms.services.common import cached, cached_page, changed_fields, mutation, query_key, record, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]

# target status -> the statuses it may be reached from, and the verb the audit trail uses
FLOW: dict[AlertStatus, tuple[frozenset[AlertStatus], str]] = {
    AlertStatus.ACKNOWLEDGED: (frozenset({AlertStatus.OPEN}), "acknowledge"),
    AlertStatus.RESOLVED: (frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED}), "resolve"),
}


def asset_summary(asset: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if asset is None else {"id": asset["id"], "name": asset["name"], "code": asset["code"]}


async def trigger(
    cur: Cursor,
    actor: Actor,
    *,
    asset: dict[str, Any] | None,
    kind: str,
    severity: Severity,
    message: str,
) -> dict[str, Any]:
    """Raise an alert inside the caller's transaction and tell the staff about it."""
    values: dict[str, Any] = {
        "tenant_id": actor.tenant_id,
        "asset_id": None if asset is None else asset["id"],
        "kind": kind,
        "severity": severity,
        "message": message,
    }
    row = await crud.insert(cur, alerts.TABLE, values)
    await record(
        cur,
        actor,
        action="create",
        entity="alert",
        entity_id=row["id"],
        changes={k: v for k, v in values.items() if k != "tenant_id"},
        event=ev.Event(ev.ALERT_TRIGGERED, {**row, "asset": asset_summary(asset)}, ev.STAFF_ROOMS),
    )
    return row


async def list_alerts(deps: Deps, actor: Actor, query: AlertQuery) -> Page:
    require(actor, STAFF, "see alerts")
    return await cached_page(
        deps, actor, "alerts", query_key(query), lambda cur: alerts.list_page(cur, actor.tenant_id, query)
    )


async def get(deps: Deps, actor: Actor, alert_id: int) -> dict[str, Any]:
    require(actor, STAFF, "see alerts")
    return await cached(deps, actor, "alerts", f"id:{alert_id}", lambda cur: alerts.get(cur, actor.tenant_id, alert_id))


async def create(deps: Deps, actor: Actor, data: AlertIn) -> dict[str, Any]:
    require(actor, STAFF, "raise alerts")
    async with mutation(deps, actor, "alerts") as cur:
        asset = None
        if data.asset_id is not None:
            asset = await asset_repo.find(cur, actor.tenant_id, data.asset_id)
            if asset is None:
                raise ValidationFailed(f"asset {data.asset_id} not found", field="asset_id")
        return await trigger(cur, actor, asset=asset, kind=data.kind, severity=data.severity, message=data.message)


async def acknowledge(deps: Deps, actor: Actor, alert_id: int, version: int | None) -> dict[str, Any]:
    return await _move(deps, actor, alert_id, AlertStatus.ACKNOWLEDGED, version)


async def resolve(deps: Deps, actor: Actor, alert_id: int, version: int | None) -> dict[str, Any]:
    return await _move(deps, actor, alert_id, AlertStatus.RESOLVED, version)


async def _move(deps: Deps, actor: Actor, alert_id: int, to: AlertStatus, version: int | None) -> dict[str, Any]:
    sources, verb = FLOW[to]
    require(actor, STAFF, f"{verb} alerts")
    now = deps.clock()
    async with mutation(deps, actor, "alerts") as cur:
        current = await alerts.get(cur, actor.tenant_id, alert_id, lock=True)
        if version is not None and version != current["version"]:
            raise StaleVersion(current["version"])
        before = current["status"]
        if before not in sources:
            raise InvalidTransition(f"cannot {verb} an alert that is {before}", field="status")
        stamp = "acknowledged" if to == AlertStatus.ACKNOWLEDGED else "resolved"
        changes = {"status": to, f"{stamp}_by": actor.user_id, f"{stamp}_at": now}
        row = await crud.update(cur, alerts.TABLE, current, changes, version)
        diff = changed_fields(current, row, changes)
        asset = None
        if row["asset_id"] is not None:
            asset = await asset_repo.find(cur, actor.tenant_id, row["asset_id"])
        await record(
            cur,
            actor,
            action=verb,
            entity="alert",
            entity_id=alert_id,
            changes=diff,
            event=ev.Event(
                ev.ALERT_UPDATED,
                {**row, "asset": asset_summary(asset), "changed": sorted(diff), "from": before, "to": to},
                ev.STAFF_ROOMS,
            ),
        )
        return row
