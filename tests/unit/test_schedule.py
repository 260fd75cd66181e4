"""The PM rules: fixed and floating calendars, meter intervals, lead time, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cmms.domain import schedule

DUE = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# ---- calendar, fixed: the grid of due dates never moves ------------------------------------------


def test_fixed_on_time_is_one_interval_after_the_due_date() -> None:
    assert schedule.next_calendar_due("fixed", DUE, 30, DUE - 2 * DAY) == DUE + 30 * DAY
    assert schedule.next_calendar_due("fixed", DUE, 30, DUE + 3 * DAY) == DUE + 30 * DAY


def test_fixed_late_skips_the_missed_periods() -> None:
    # Due Mar 1, done 40 days later: Mar 31 has passed too, so the next one is Apr 30.
    assert schedule.next_calendar_due("fixed", DUE, 30, DUE + 40 * DAY) == DUE + 60 * DAY
    # Done exactly on a grid date: that occurrence counts as passed.
    assert schedule.next_calendar_due("fixed", DUE, 30, DUE + 30 * DAY) == DUE + 60 * DAY
    assert schedule.next_calendar_due("fixed", DUE, 7, DUE + 365 * DAY) == DUE + 371 * DAY


def test_fixed_done_early_keeps_the_grid() -> None:
    assert schedule.next_calendar_due("fixed", DUE, 30, DUE - 20 * DAY) == DUE + 30 * DAY


# ---- calendar, floating: counts from the completion ----------------------------------------------


@pytest.mark.parametrize("offset", [-5, 0, 3, 40])
def test_floating_counts_from_completion(offset: int) -> None:
    done = DUE + offset * DAY + timedelta(hours=5)
    assert schedule.next_calendar_due("floating", DUE, 30, done) == done + 30 * DAY


def test_without_a_previous_due_date_a_plan_floats() -> None:
    assert schedule.next_calendar_due("fixed", None, 10, DUE) == DUE + 10 * DAY


def test_skipping_a_cancelled_occurrence_goes_to_the_next_grid_date_after_now() -> None:
    assert schedule.skip_calendar_due(DUE, 30, DUE - DAY) == DUE + 30 * DAY
    assert schedule.skip_calendar_due(DUE, 30, DUE + 45 * DAY) == DUE + 60 * DAY
    assert schedule.skip_calendar_due(None, 30, DUE) == DUE + 30 * DAY


def test_far_future_dates_stop_at_the_last_instant() -> None:
    late = datetime(9999, 12, 1, tzinfo=UTC)
    assert schedule.next_calendar_due("floating", late, 3650, late) == schedule.LAST_INSTANT
    assert schedule.next_calendar_due("fixed", late, 3650, late) == schedule.LAST_INSTANT


# ---- meter ---------------------------------------------------------------------------------------


def test_meter_is_due_once_the_reading_reaches_the_due_value() -> None:
    assert not schedule.meter_due(1699.9, 1700)
    assert schedule.meter_due(1700, 1700)
    assert schedule.meter_due(1800, 1700)
    assert not schedule.meter_due(None, 1700)
    assert not schedule.meter_due(1800, None)


def test_meter_next_due_counts_from_the_reading_at_completion() -> None:
    assert schedule.next_meter_due(1730.5, 500) == 2230.5


def test_meter_order_is_due_lead_days_after_the_reading() -> None:
    assert schedule.meter_order_due(DUE, 3) == DUE + 3 * DAY
    assert schedule.meter_order_due(DUE, 0) == DUE


# ---- lead time and overdue -----------------------------------------------------------------------


def test_within_lead_time() -> None:
    assert not schedule.within_lead(DUE, 7, DUE - 7 * DAY - timedelta(seconds=1))
    assert schedule.within_lead(DUE, 7, DUE - 7 * DAY)
    assert schedule.within_lead(DUE, 7, DUE + 100 * DAY)
    assert not schedule.within_lead(DUE, 0, DUE - timedelta(seconds=1))
    assert schedule.within_lead(DUE, 0, DUE)
    assert schedule.within_lead(datetime(1, 1, 2, tzinfo=UTC), 365, DUE)


def test_overdue_once_the_due_date_has_passed_and_the_work_is_not_done() -> None:
    assert not schedule.is_overdue(DUE, DUE, completed=False)
    assert schedule.is_overdue(DUE, DUE + timedelta(seconds=1), completed=False)
    assert not schedule.is_overdue(DUE, DUE + DAY, completed=True)
    assert not schedule.is_overdue(None, DUE, completed=False)
