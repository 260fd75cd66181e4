"""Meter readings: staff (and their gateways) record them; a value past a meter's limits raises
a condition alert in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, transaction
from cmms.db.repos import assets, readings
from cmms.domain.errors import ValidationFailed
from cmms.domain.model import ReadingsIn
from cmms.domain.model_queries import ReadingQuery
from cmms.domain.model_types import Severity
from cmms.domain.roles import STAFF, Actor
from cmms.services import alerts
from cmms.services.common import mutation, record, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]

# Numbers beyond this come back from jsonb (events, meter definitions) as integers too large
# for JSON encoders; no meter measures anything that large.


async def add(deps: Deps, actor: Actor, asset_id: int, data: ReadingsIn) -> list[dict[str, Any]]:
    require(actor, STAFF, "record meter readings")
    async with mutation(deps, actor, "alerts") as cur:
        asset = await assets.get(cur, actor.tenant_id, asset_id)
        return await add_in(cur, actor, asset, data, deps.clock())


async def add_in(
    cur: Cursor, actor: Actor, asset: dict[str, Any], data: ReadingsIn, now: datetime
) -> list[dict[str, Any]]:
    """Record readings inside the caller's transaction (a checklist's meter item uses this too)."""
    asset_id = asset["id"]
    meters = {m["name"]: m for m in asset["meters"]}
    batch: list[tuple[str, float, datetime]] = []
    for i, reading in enumerate(data.readings):
        if reading.meter not in meters:
            declared = ", ".join(sorted(meters)) or "none"
            raise ValidationFailed(
                f"asset {asset_id} has no meter {reading.meter!r} (declared: {declared})",
                field=f"readings.{i}.meter",
            )
        at = now if reading.at is None else reading.at
        batch.append((reading.meter, reading.value, at))
    rows = await readings.insert_many(cur, actor.tenant_id, asset_id, batch)
    await record(
        cur,
        actor,
        action="readings",
        entity="asset",
        entity_id=asset_id,
        changes={"count": len(rows), "meters": sorted({r["meter"] for r in rows})},
    )
    for message in breaches(rows, meters):
        await alerts.trigger(cur, actor, asset=asset, kind="condition", severity=Severity.WARNING, message=message)
    return rows


async def list_readings(deps: Deps, actor: Actor, asset_id: int, query: ReadingQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await assets.get(cur, actor.tenant_id, asset_id)
        return await readings.list_page(
            cur,
            actor.tenant_id,
            asset_id,
            meter=query.meter,
            since=query.since,
            until=query.until,
            limit=query.limit,
            cursor=query.cursor,
        )


def breaches(rows: list[dict[str, Any]], meters: dict[str, dict[str, Any]]) -> list[str]:
    """One message per meter whose readings left its [min, max] range: the worst excursion."""
    worst: dict[str, tuple[float, str]] = {}
    for row in rows:
        meter = meters[row["meter"]]
        value = float(row["value"])
        low, high = meter.get("min"), meter.get("max")
        if high is not None and value > high:
            excess, side, limit = value - high, "above the maximum", high
        elif low is not None and value < low:
            excess, side, limit = low - value, "below the minimum", low
        else:
            continue
        unit = f" {meter['unit']}" if meter.get("unit") else ""
        message = f"meter {row['meter']} reading {_num(value)}{unit} is {side} {_num(limit)}{unit}"
        if row["meter"] not in worst or excess > worst[row["meter"]][0]:
            worst[row["meter"]] = (excess, message)
    return [message for _, message in worst.values()]


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
