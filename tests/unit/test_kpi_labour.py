"""Labour KPIs without a database: SMRP planned share by hours, MTTR from repair time, labour cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cmms.domain.kpi import Period
from cmms.domain.kpi_labour import labour_cost, mttr_from_repair_time, planned_by_hours

T0 = datetime(2031, 1, 1, tzinfo=UTC)
PERIOD = Period(T0, T0 + timedelta(days=7), T0 + timedelta(days=7))


def entry(kind: str, minutes: int, rate: str, asset: int | None = 1, n: int = 1, day: int = 1) -> dict[str, object]:
    return {
        "type": kind,
        "asset_id": asset,
        "asset_name": f"asset {asset}",
        "plant_id": 10,
        "plant_name": "North",
        "minutes": minutes,
        "hourly_rate": Decimal(rate),
        "n": n,
        "started_at": T0 + timedelta(days=day),
    }


def test_planned_share_by_hours() -> None:
    # planned 90 + 2 x 30 = 150 of 150 + 100 = 250 minutes: 60 %; the entry before the period is left out
    rows = [
        entry("preventive", 90, "40.00"),
        entry("inspection", 30, "40.00", n=2),
        entry("corrective", 100, "40.00"),
        entry("corrective", 500, "40.00", day=-1),
    ]
    share = planned_by_hours(rows, PERIOD)
    assert share is not None
    assert (share.percent, share.planned_hours, share.total_hours, share.basis) == (60.0, 2.5, 4.17, "labour hours")
    assert planned_by_hours([], PERIOD) is None


def test_mttr_uses_labour_and_falls_back_to_downtime_per_order() -> None:
    rows = [
        {"type": "corrective", "n": 2, "labour_minutes": 150, "downtime_minutes": 999},
        {"type": "emergency", "n": 1, "labour_minutes": None, "downtime_minutes": 90},
        {"type": "preventive", "n": 5, "labour_minutes": 600, "downtime_minutes": 0},  # not a repair
    ]
    mttr = mttr_from_repair_time(rows)
    assert mttr is not None
    # (150 + 90) / 3 orders = 80 min
    assert (mttr.hours, mttr.repairs, mttr.timed_repairs, mttr.basis) == (1.33, 3, 2, "repair time")
    assert mttr_from_repair_time([{"type": "corrective", "n": 1, "labour_minutes": None}]) is None


def test_labour_cost_per_asset_and_plant() -> None:
    rows = [entry("preventive", 3, "0.10", asset=1, n=3), entry("corrective", 90, "52.50", asset=2)]
    cost = labour_cost(rows, PERIOD, "EUR")
    # asset 1: 3 entries of 0.005 -> 0.01 each = 0.03; asset 2: 78.75
    assert [(a.asset_id, a.cost) for a in cost.by_asset] == [(2, "78.75"), (1, "0.03")]
    assert (cost.cost, cost.hours, [p.cost for p in cost.by_plant]) == ("78.78", 1.65, ["78.78"])
