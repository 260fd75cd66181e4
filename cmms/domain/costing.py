"""Time entries, timers and cost lines of an order, and the arithmetic of its cost summary.

Rounding rule (one rule, everywhere): the labour cost of an entry is minutes x the entry's hourly
rate / 60, rounded half-up to cents, *per entry*; the order's labour is the sum of those rounded
entry costs, so the entries a user sees add up exactly to the labour total. Other cost lines are
exact to the cent already; total = labour + parts + other. Money is `Decimal`, never float.

A timer's entry lasts the elapsed whole minutes, rounded half-up (30 s or more counts as a
minute), at least 1 and at most 24 h (a timer forgotten over a weekend is capped, and says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from cmms.domain.model_types import Id, Input, Instant, Money

CENT = Decimal("0.01")
MAX_MINUTES = 24 * 60
ZERO = Decimal("0.00")
Note = Annotated[str, StringConstraints(max_length=2000)]


class TimeCategory(StrEnum):
    NORMAL = "normal"
    OVERTIME = "overtime"
    TRAVEL = "travel"


class CostCategory(StrEnum):
    CONTRACTOR = "contractor"
    MATERIAL = "material"
    OTHER = "other"


class TimerStartIn(Input):
    category: TimeCategory = TimeCategory.NORMAL


class TimeEntryIn(Input):
    minutes: Annotated[int, Field(ge=1, le=MAX_MINUTES, strict=True)]
    started_at: Instant | None = None
    category: TimeCategory = TimeCategory.NORMAL
    note: Note = ""
    user_id: Id | None = None  # supervisors may log time for someone else


class CostIn(Input):
    category: CostCategory
    amount: Money
    description: Annotated[str, StringConstraints(max_length=2000)] = ""


class TimeEntry(BaseModel):
    id: int
    order_id: int
    user_id: int
    started_at: datetime
    minutes: int
    category: TimeCategory
    note: str
    source: str
    hourly_rate: str
    cost: str
    created_by: int | None
    created_at: datetime
    version: int


class Timer(BaseModel):
    order_id: int
    user_id: int
    category: TimeCategory
    started_at: datetime


class TimerStarted(BaseModel):
    timer: Timer
    stopped: TimeEntry | None


class MyTimer(BaseModel):
    timer: Timer | None


class CostLine(BaseModel):
    id: int
    order_id: int
    category: CostCategory
    amount: str
    description: str
    created_by: int | None
    created_at: datetime
    version: int


class CostSummary(BaseModel):
    order_id: int
    labor_minutes: int
    labor: str
    parts: str
    other: str
    total: str
    currency: str
    rounding: str = "labour per entry: minutes x rate / 60, rounded half-up to cents; then summed"


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def entry_cost(minutes: int, hourly_rate: Decimal) -> Decimal:
    """The labour cost of one entry, rounded half-up to cents (see the module rule)."""
    return (Decimal(minutes) * hourly_rate / Decimal(60)).quantize(CENT, rounding=ROUND_HALF_UP)


def timer_minutes(started_at: datetime, stopped_at: datetime) -> tuple[int, bool]:
    """(minutes, capped): the whole minutes a timer ran, rounded half-up, within 1..24 h."""
    seconds = max(0.0, (stopped_at - started_at).total_seconds())
    minutes = int((Decimal(seconds) / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(1, min(MAX_MINUTES, minutes)), minutes > MAX_MINUTES


def manual_start(started_at: datetime | None, minutes: int, now: datetime) -> datetime:
    """A manual entry without a start ended just now."""
    return started_at if started_at is not None else now - timedelta(minutes=minutes)


def summary(
    order_id: int,
    entries: Iterable[Mapping[str, Any]],
    costs: Iterable[Mapping[str, Any]],
    currency: str,
    parts: Decimal = ZERO,
) -> CostSummary:
    """The cost summary of an order from its time entries and cost lines (parts: none yet)."""
    labor_minutes = 0
    labor = ZERO
    for entry in entries:
        labor_minutes += int(entry["minutes"])
        labor += entry_cost(int(entry["minutes"]), Decimal(entry["hourly_rate"]))
    other = sum((Decimal(c["amount"]) for c in costs), ZERO)
    return CostSummary(
        order_id=order_id,
        labor_minutes=labor_minutes,
        labor=money(labor),
        parts=money(parts),
        other=money(other),
        total=money(labor + parts + other),
        currency=currency,
    )
