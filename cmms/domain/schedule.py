"""Preventive-maintenance rules: when a plan is due, when its order is made, where it goes next.

Calendar plans are due at `next_due_at`; their work order is made `lead_days` before that.
When the order is completed the plan moves on:

* fixed: the plan keeps its grid. The next due date is the previous one plus whole intervals,
  the first grid date after the completion; periods that passed while the work was late are
  skipped, not made up. Done early or late, the grid never shifts.
* floating: the next due date is the completion date plus one interval.

Meter plans are due when the latest reading reaches `next_due_meter`; the order is due
`lead_days` after that reading (there is no date to lead up to, so the lead is the time given to
do the work). On completion the next due value is the reading at completion plus the interval.

A cancelled PM order skips its occurrence: a calendar plan moves to the first grid date after
now, a meter plan counts the interval from the latest reading.

An order is overdue when now is past its due date and it is not completed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def within_lead(due_at: datetime, lead_days: int, now: datetime) -> bool:
    """Whether the work order of an occurrence due at `due_at` should exist by `now`."""
    try:
        opens = due_at - timedelta(days=lead_days)
    except OverflowError:
        return True  # the lead reaches back before year 1: it has certainly begun
    return opens <= now


def is_overdue(due_at: datetime | None, now: datetime, *, completed: bool) -> bool:
    return not completed and due_at is not None and now > due_at


def next_fixed(previous_due: datetime, interval_days: int, after: datetime) -> datetime:
    """The first date on the grid `previous_due + k * interval` (k >= 1) later than `after`."""
    step = timedelta(days=interval_days)
    k = 1 if after < previous_due else (after - previous_due) // step + 1
    return _add(previous_due, step * k)


def next_floating(done_at: datetime, interval_days: int) -> datetime:
    return _add(done_at, timedelta(days=interval_days))


def next_calendar_due(schedule: str, previous_due: datetime | None, interval_days: int, done_at: datetime) -> datetime:
    """Where a calendar plan goes after the work was completed at `done_at`."""
    if schedule == "floating" or previous_due is None:
        return next_floating(done_at, interval_days)
    return next_fixed(previous_due, interval_days, done_at)


def skip_calendar_due(previous_due: datetime | None, interval_days: int, now: datetime) -> datetime:
    """Where a calendar plan goes when its occurrence was cancelled: the next grid date after now."""
    if previous_due is None:
        return next_floating(now, interval_days)
    return next_fixed(previous_due, interval_days, now)


def meter_due(latest: float | None, next_due_meter: float | None) -> bool:
    return latest is not None and next_due_meter is not None and latest >= next_due_meter


def next_meter_due(reading_at_completion: float, meter_interval: float) -> float:
    return reading_at_completion + meter_interval


def meter_order_due(reading_at: datetime, lead_days: int) -> datetime:
    """When the order of a meter plan is due: `lead_days` after the reading that made it due."""
    return _add(reading_at, timedelta(days=lead_days))


def _add(base: datetime, delta: timedelta) -> datetime:
    try:
        return base + delta
    except OverflowError:
        return LAST_INSTANT
