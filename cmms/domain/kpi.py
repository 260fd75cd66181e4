"""Maintenance KPIs (SMRP definitions) computed from plain row dicts: no I/O, no clock.

The same functions serve `GET /api/v1/kpis` and the `reports` job. Every input is a sequence of
plain dicts, one per work order or one per *group* of work orders: a row may carry `n` (how many
orders it stands for, default 1) and `downtime_minutes` (their summed downtime). The repository
groups in SQL so memory does not grow with the number of orders; tests pass one row per order.
When a row carries `status`, `completed_at`, `created_at`, `due_at` or `type`, the functions apply
their selection rule to it themselves, so the rules below are checked here and not only in SQL.

The rules (the period is half-open: from <= t < to):

- Repairs and failures: corrective and emergency orders whose status is completed or closed and
  whose `completed_at` falls in the period. Each is one repair (MTTR) and one failure (MTBF),
  whether or not it recorded downtime.
- MTTR = total repair time / number of repairs, in hours; repair time is `downtime_minutes`.
- MTBF = operating time / number of failures, in hours. Operating time of an asset = the observed
  period (from .. min(to, as of)) minus the downtime of every order (any type) completed on it in
  the period, never below zero. Overall: assets considered = the non-retired assets in scope, so
  operating time = observed hours x assets considered - their downtime; failures on orders with
  no asset, or on retired assets, are left out of MTBF (they still count as repairs for MTTR).
- PM compliance: preventive orders, not cancelled, with `due_at` in the period. An order is on
  time when it was completed (completed_at set, status completed or closed) no later than
  due_at + 10% of its plan's `interval_days`; orders without a calendar interval (no plan, or a
  meter plan) get no grace, so due_at itself is the deadline. Completed after the deadline: late.
  Not completed and the deadline has passed (as of the report): missed. Not completed and the
  deadline is still ahead: pending, left out. Compliance = on time / (on time + late + missed).
- Planned-maintenance percentage: by labour hours when time is recorded in the period
  (`cmms.domain.kpi_labour`, SMRP); otherwise, the fallback, a share of *order counts*:
  preventive + inspection orders / all orders completed in the period (status completed or
  closed, completed_at in the period) x 100. `basis` says which one a result used; MTTR too.
- Backlog: orders approved but not done (open, in_progress, on_hold) now, whatever the period,
  each estimated from its priority (low 2 h, medium 4 h, high 6 h, critical 8 h). Crew-weeks =
  backlog hours / (active technicians x 40 h); none when there is no active technician.
- Orders by status, priority and type: orders created in the period, by their current values.
- Top assets by downtime: downtime of orders (any type) completed in the period, per asset,
  largest first, assets without downtime left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from cmms.domain.errors import ValidationFailed
from cmms.domain.kpi_labour import LabourInputs, labour_cost, mttr_from_repair_time, planned_by_hours
from cmms.domain.kpi_results import BACKLOG as BACKLOG  # re-exported: the rules' status sets
from cmms.domain.kpi_results import DONE as DONE
from cmms.domain.kpi_results import (
    HOURS_BY_PRIORITY,
    PLANNED_TYPES,
    AssetDowntime,
    AssetMtbf,
    Backlog,
    Mtbf,
    Mttr,
    OrderCounts,
    PeriodOut,
    PlannedShare,
    PmCompliance,
)
from cmms.domain.kpi_results import REPAIR_TYPES as REPAIR_TYPES
from cmms.domain.kpi_results import Kpis as Kpis
from cmms.domain.model_types import Criticality, Id, Input, Instant, OrderType
from cmms.domain.workflow import Status

Row = Mapping[str, Any]

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: the longest period one request may cover
PM_GRACE = 0.10  # share of the plan interval allowed after due_at
CREW_WEEK_HOURS = 40.0  # hours one technician works in a week
TOP_ASSETS = 10


# ---- the period ---------------------------------------------------------------------------------


class KpiQuery(Input):
    """`GET /api/v1/kpis` query: a half-open period [from, to) and an optional plant."""

    from_: Annotated[Instant | None, Field(alias="from")] = None
    to: Instant | None = None
    plant_id: Id | None = None

    @field_validator("to")
    @classmethod
    def _after_from(cls, to: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("from_")
        if to is not None and start is not None and start >= to:
            raise ValueError("to must be after from")
        return to


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    as_of: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    @property
    def observed_hours(self) -> float:
        """Hours of the period that have already happened (the future has no operating time yet)."""
        return max(0.0, (min(self.end, self.as_of) - self.start).total_seconds() / 3600)


def resolve_period(start: datetime | None, end: datetime | None, now: datetime, *, days: int = DEFAULT_DAYS) -> Period:
    """Fill in the defaults (to: now; from: `days` before to) and check the period."""
    end = end if end is not None else now
    start = start if start is not None else end - timedelta(days=days)
    if start >= end:
        raise ValidationFailed("from must be before to", field="from")
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed(f"the period may cover at most {MAX_DAYS} days", field="from")
    return Period(start, end, now)


# ---- results ------------------------------------------------------------------------------------------


# ---- helpers ----------------------------------------------------------------------------------------


def _n(row: Row) -> int:
    return int(row.get("n", 1))


def _minutes(row: Row) -> int:
    return int(row.get("downtime_minutes") or 0)


def _hours(minutes: float) -> float:
    return round(minutes / 60, 2)


def _ratio(part: float, whole: float, scale: float = 1.0) -> float | None:
    return round(scale * part / whole, 2) if whole else None


def _done_in(row: Row, period: Period) -> bool:
    """An order (group) completed in the period: status completed/closed, completed_at inside."""
    if "status" in row and row["status"] not in DONE:
        return False
    return "completed_at" not in row or row["completed_at"] in period


def completed_in(rows: Iterable[Row], period: Period) -> list[Row]:
    return [r for r in rows if _done_in(r, period)]


def _considered(row: Row) -> bool:
    """An order on an asset that counts for MTBF (it has one, and it is not retired)."""
    return row.get("asset_id") is not None and row.get("asset_status") != "retired"


# ---- the KPIs -----------------------------------------------------------------------------------------


def mttr(completed: Iterable[Row], period: Period) -> Mttr:
    """Mean time to repair, in hours (see the module rules)."""
    repairs = [r for r in completed_in(completed, period) if r["type"] in REPAIR_TYPES]
    count = sum(_n(r) for r in repairs)
    minutes = sum(_minutes(r) for r in repairs)
    return Mttr(hours=_ratio(minutes, 60 * count), repairs=count, repair_hours=_hours(minutes))


def mtbf(completed: Iterable[Row], assets: int, period: Period, *, top: int = TOP_ASSETS) -> Mtbf:
    """Mean time between failures, overall and for the `top` assets with the most failures."""
    observed = period.observed_hours
    failures: dict[int, int] = {}
    downtime: dict[int, int] = {}
    names: dict[int, str] = {}
    for row in completed_in(completed, period):
        if not _considered(row):
            continue
        asset = int(row["asset_id"])
        names[asset] = str(row.get("asset_name") or f"asset {asset}")
        downtime[asset] = downtime.get(asset, 0) + _minutes(row)
        failures[asset] = failures.get(asset, 0) + (_n(row) if row["type"] in REPAIR_TYPES else 0)
    operating = {a: max(0.0, observed - m / 60) for a, m in downtime.items()}
    untouched = max(0, assets - len(downtime))  # assets without any completed order: up all along
    total_operating = sum(operating.values()) + observed * untouched
    total_failures = sum(failures.values())
    by_asset = [
        AssetMtbf(
            asset_id=a,
            name=names[a],
            failures=f,
            downtime_hours=_hours(downtime[a]),
            operating_hours=round(operating[a], 2),
            mtbf_hours=round(operating[a] / f, 2),
        )
        for a, f in failures.items()
        if f > 0
    ]
    by_asset.sort(key=lambda x: (-x.failures, x.mtbf_hours, x.asset_id))
    return Mtbf(
        hours=_ratio(total_operating, total_failures),
        failures=total_failures,
        operating_hours=round(total_operating, 2),
        assets=assets,
        by_asset=by_asset[:top],
    )


def pm_deadline(due_at: datetime, interval_days: float | None) -> datetime:
    """The latest on-time completion: due_at + 10% of the calendar interval (none without one)."""
    return due_at + timedelta(days=PM_GRACE * interval_days) if interval_days else due_at


def pm_compliance(preventive: Iterable[Row], period: Period) -> PmCompliance:
    """Share of preventive orders due in the period that were done on time (see the module rules)."""
    on_time = late = missed = pending = 0
    for row in preventive:
        if row.get("type", OrderType.PREVENTIVE) != OrderType.PREVENTIVE or row.get("status") == Status.CANCELLED:
            continue
        due = row.get("due_at")
        if not isinstance(due, datetime) or due not in period:
            continue
        deadline = pm_deadline(due, row.get("interval_days"))
        done_at = row.get("completed_at")
        if done_at is not None and row.get("status", Status.COMPLETED) in DONE:
            if done_at <= deadline:
                on_time += _n(row)
            else:
                late += _n(row)
        elif deadline < period.as_of:
            missed += _n(row)
        else:
            pending += _n(row)
    considered = on_time + late + missed
    return PmCompliance(
        percent=_ratio(on_time, considered, 100),
        on_time=on_time,
        late=late,
        missed=missed,
        pending=pending,
        considered=considered,
    )


def planned_percentage(completed: Iterable[Row], period: Period) -> PlannedShare:
    """Preventive + inspection share of the orders completed in the period, by count."""
    done = completed_in(completed, period)
    total = sum(_n(r) for r in done)
    planned = sum(_n(r) for r in done if r["type"] in PLANNED_TYPES)
    return PlannedShare(percent=_ratio(planned, total, 100), planned=planned, total=total)


def backlog(open_orders: Iterable[Row], technicians: int) -> Backlog:
    """Open work in estimated hours and crew-weeks (see the module rules)."""
    by_priority = {str(p): 0 for p in Criticality}
    hours = 0.0
    for row in open_orders:
        if "status" in row and row["status"] not in BACKLOG:
            continue
        priority = Criticality(row["priority"])
        by_priority[str(priority)] += _n(row)
        hours += _n(row) * HOURS_BY_PRIORITY[priority]
    crew = max(0, technicians) * CREW_WEEK_HOURS
    return Backlog(
        orders=sum(by_priority.values()),
        hours=round(hours, 2),
        technicians=max(0, technicians),
        crew_hours_per_week=crew,
        crew_weeks=_ratio(hours, crew),
        by_priority=by_priority,
    )


def order_counts(created: Iterable[Row], period: Period) -> OrderCounts:
    """Orders created in the period by status, priority and type; every value is listed, zeros too."""
    by_status = {str(s): 0 for s in Status}
    by_priority = {str(p): 0 for p in Criticality}
    by_type = {str(t): 0 for t in OrderType}
    for row in created:
        if "created_at" in row and row["created_at"] not in period:
            continue
        n = _n(row)
        by_status[str(Status(row["status"]))] += n
        by_priority[str(Criticality(row["priority"]))] += n
        by_type[str(OrderType(row["type"]))] += n
    return OrderCounts(total=sum(by_status.values()), by_status=by_status, by_priority=by_priority, by_type=by_type)


def top_assets_by_downtime(completed: Iterable[Row], period: Period, *, top: int = TOP_ASSETS) -> list[AssetDowntime]:
    """Assets with the most downtime from orders completed in the period (retired ones included)."""
    minutes: dict[int, int] = {}
    orders: dict[int, int] = {}
    names: dict[int, str] = {}
    for row in completed_in(completed, period):
        if row.get("asset_id") is None:
            continue
        asset = int(row["asset_id"])
        names[asset] = str(row.get("asset_name") or f"asset {asset}")
        minutes[asset] = minutes.get(asset, 0) + _minutes(row)
        orders[asset] = orders.get(asset, 0) + _n(row)
    ranked = sorted((a for a, m in minutes.items() if m > 0), key=lambda a: (-minutes[a], a))
    return [
        AssetDowntime(asset_id=a, name=names[a], downtime_hours=_hours(minutes[a]), orders=orders[a])
        for a in ranked[:top]
    ]


@dataclass(frozen=True)
class KpiInputs:
    """What the repository fetched for one tenant, period and optional plant."""

    period: Period
    plant_id: int | None
    completed: Sequence[Row]  # orders completed in the period (by asset and type): asset_*, type, n, downtime
    created: Sequence[Row]  # orders created in the period: status, priority, type, n
    open_orders: Sequence[Row]  # the backlog now: status, priority, n
    preventive: Sequence[Row]  # preventive orders due in the period: status, due_at, completed_at, interval_days
    assets: int  # non-retired assets in scope
    technicians: int  # active technicians of the tenant
    labour: LabourInputs = field(default_factory=LabourInputs)  # recorded time; none: the fallbacks apply


def compute(data: KpiInputs) -> Kpis:
    period = data.period
    return Kpis(
        period=PeriodOut(
            from_=period.start,
            to=period.end,
            as_of=period.as_of,
            observed_hours=round(period.observed_hours, 2),
            plant_id=data.plant_id,
        ),
        mttr=mttr_from_repair_time(data.labour.repairs) or mttr(data.completed, period),
        mtbf=mtbf(data.completed, data.assets, period),
        pm_compliance=pm_compliance(data.preventive, period),
        planned_percentage=planned_by_hours(data.labour.entries, period) or planned_percentage(data.completed, period),
        backlog=backlog(data.open_orders, data.technicians),
        orders=order_counts(data.created, period),
        top_assets_by_downtime=top_assets_by_downtime(data.completed, period),
        labour_cost=labour_cost(data.labour.entries, period, data.labour.currency),
    )
