"""KPIs from recorded time: planned-maintenance percentage by labour hours (SMRP), MTTR from repair
time, and labour cost per asset and plant. Plain rows in, results out: no I/O, no clock.

- Labour rows stand for time entries started in the period (`started_at` is checked here when a
  row carries it), grouped by order type, asset, plant, minutes and rate (`n` entries each), so
  the cost of each entry is rounded exactly as on the order (`cmms.domain.costing`).
- Planned maintenance percentage = labour hours on preventive and inspection orders / all labour
  hours x 100. With no labour recorded in the period, `None`: the caller keeps the order-count
  share and its `basis` says so.
- MTTR: each corrective or emergency order completed in the period counts once; its repair time
  is its recorded labour (all its entries), or its downtime when no time was recorded on it.
  With no time on any of them, `None`: the caller keeps the downtime-based MTTR.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cmms.domain.costing import ZERO, entry_cost, money
from cmms.domain.kpi_results import (
    DONE,
    MTTR_REPAIR_RULE,
    PLANNED_HOURS_RULE,
    PLANNED_TYPES,
    REPAIR_TYPES,
    AssetLabour,
    LabourCost,
    Mttr,
    PlannedShare,
    PlantLabour,
)

Row = Mapping[str, Any]
TOP = 10


@dataclass(frozen=True)
class LabourInputs:
    entries: Sequence[Row] = ()  # type, asset_id, asset_name, plant_id, plant_name, minutes, hourly_rate, n
    repairs: Sequence[Row] = ()  # repair orders completed in the period: type, n, labour_minutes (None: no time)
    currency: str = "EUR"


def _n(row: Row) -> int:
    return int(row.get("n", 1))


def _hours(minutes: float) -> float:
    return round(minutes / 60, 2)


def in_period(rows: Iterable[Row], period: Container[datetime]) -> list[Row]:
    return [r for r in rows if "started_at" not in r or r["started_at"] in period]


def planned_by_hours(entries: Iterable[Row], period: Container[datetime]) -> PlannedShare | None:
    """SMRP planned maintenance percentage by labour hours; None when no labour was recorded."""
    rows = in_period(entries, period)
    total = sum(_n(r) * int(r["minutes"]) for r in rows)
    if total == 0:
        return None
    planned = sum(_n(r) * int(r["minutes"]) for r in rows if r["type"] in PLANNED_TYPES)
    orders_planned = sum(_n(r) for r in rows if r["type"] in PLANNED_TYPES)
    return PlannedShare(
        percent=round(100 * planned / total, 2),
        planned=orders_planned,
        total=sum(_n(r) for r in rows),
        basis="labour hours",
        planned_hours=_hours(planned),
        total_hours=_hours(total),
        rule=PLANNED_HOURS_RULE,
    )


def mttr_from_repair_time(repairs: Iterable[Row]) -> Mttr | None:
    """MTTR over repair orders, from recorded labour where there is some; None when none has time."""
    rows = [r for r in repairs if r["type"] in REPAIR_TYPES and r.get("status", "completed") in DONE]
    timed = sum(_n(r) for r in rows if r.get("labour_minutes") is not None)
    if timed == 0:
        return None
    count = sum(_n(r) for r in rows)
    minutes = sum(
        int(r["labour_minutes"]) if r.get("labour_minutes") is not None else int(r.get("downtime_minutes") or 0)
        for r in rows
    )
    return Mttr(
        hours=round(minutes / 60 / count, 2),
        repairs=count,
        repair_hours=_hours(minutes),
        basis="repair time",
        timed_repairs=timed,
        rule=MTTR_REPAIR_RULE,
    )


def labour_cost(entries: Iterable[Row], period: Container[datetime], currency: str, *, top: int = TOP) -> LabourCost:
    """Labour hours and cost in the period, overall, per asset (the `top` costliest) and per plant."""
    by_asset: dict[int | None, list[Any]] = {}
    by_plant: dict[int | None, list[Any]] = {}
    total_minutes, total = 0, ZERO
    for row in in_period(entries, period):
        minutes = _n(row) * int(row["minutes"])
        cost = _n(row) * entry_cost(int(row["minutes"]), Decimal(row["hourly_rate"]))
        total_minutes, total = total_minutes + minutes, total + cost
        for key, name, bucket in (
            (row.get("asset_id"), row.get("asset_name") or "no asset", by_asset),
            (row.get("plant_id"), row.get("plant_name") or "no plant", by_plant),
        ):
            slot = bucket.setdefault(key, [str(name), 0, ZERO])
            slot[1] += minutes
            slot[2] += cost
    assets = sorted(by_asset.items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0] or 0))
    plants = sorted(by_plant.items(), key=lambda kv: (-kv[1][2], -kv[1][1], kv[0] or 0))
    return LabourCost(
        hours=_hours(total_minutes),
        cost=money(total),
        currency=currency,
        by_asset=[AssetLabour(asset_id=k, name=v[0], hours=_hours(v[1]), cost=money(v[2])) for k, v in assets[:top]],
        by_plant=[PlantLabour(plant_id=k, name=v[0], hours=_hours(v[1]), cost=money(v[2])) for k, v in plants],
    )
