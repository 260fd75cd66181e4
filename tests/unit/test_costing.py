"""The cost arithmetic without a database: rounding per entry, timer minutes, the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cmms.domain.costing import entry_cost, money, summary, timer_minutes

T0 = datetime(2031, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes", "rate", "cost"),
    [
        (60, "45.00", "45.00"),
        (1, "45.00", "0.75"),
        (1, "0.29", "0.00"),  # 0.00483...
        (1, "0.30", "0.01"),  # 0.005: half a cent rounds up
        (7, "33.33", "3.89"),  # 3.8885
        (45, "38.75", "29.06"),  # 29.0625
        (50, "38.75", "32.29"),  # 32.291666...
        (1440, "99.99", "2399.76"),
        (30, "0.00", "0.00"),
    ],
)
def test_entry_cost_rounds_half_up_to_cents(minutes: int, rate: str, cost: str) -> None:
    assert money(entry_cost(minutes, Decimal(rate))) == cost


def test_summary_sums_rounded_entries() -> None:
    entries = [{"minutes": 1, "hourly_rate": Decimal("0.30")}] * 3  # 0.005 each
    costs = [{"amount": Decimal("10.00")}, {"amount": Decimal("0.10")}]
    out = summary(9, entries, costs, "EUR")
    # per entry 0.01 x 3 = 0.03 (rounding the sum 0.015 would give 0.02)
    assert (out.labor_minutes, out.labor, out.parts, out.other, out.total) == (3, "0.03", "0.00", "10.10", "10.13")


@pytest.mark.parametrize(
    ("seconds", "minutes", "capped"),
    [
        (0, 1, False),
        (29, 1, False),
        (30, 1, False),
        (89, 1, False),
        (90, 2, False),
        (86_400, 1440, False),
        (86_431, 1440, True),
    ],
)
def test_timer_minutes(seconds: int, minutes: int, capped: bool) -> None:
    assert timer_minutes(T0, T0 + timedelta(seconds=seconds)) == (minutes, capped)
