"""The stock rules without I/O: quantities, directions, never below zero, moving average, low stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from cmms.domain import stock
from cmms.domain.errors import Conflict, ValidationFailed
from cmms.domain.stock import Level, MoveKind, Qty, SignedQty

D = Decimal


class _Q(BaseModel):
    qty: Qty


class _S(BaseModel):
    qty: SignedQty


@pytest.mark.parametrize("text", ["1", "0.001", "2.5", "999999999.999"])
def test_quantities_accepted(text: str) -> None:
    assert _Q(qty=text).qty == D(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0", "-1", "1.0001", "1e3", "1000000000", "", " 1", "01", 1, 1.5, None])
def test_quantities_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        _Q(qty=value)  # type: ignore[arg-type]


def test_signed_quantities_allow_negative_but_not_zero() -> None:
    assert _S(qty="-0.5").qty == D("-0.5")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        _S(qty="-0")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [(D("10.000"), "10"), (D("2.500"), "2.5"), (D("0.125"), "0.125"), (D("0"), "0"), (D("1E+1"), "10")],
)
def test_qty_text(value: Decimal, text: str) -> None:
    assert stock.qty_text(value) == text


def test_effects_of_each_kind() -> None:
    assert stock.effects(MoveKind.RECEIVE, D(3), 1, None) == {1: D(3)}
    assert stock.effects(MoveKind.RETURN, D(3), 1, None) == {1: D(3)}
    assert stock.effects(MoveKind.ISSUE, D(3), 1, None) == {1: D(-3)}
    assert stock.effects(MoveKind.ADJUST, D(-2), 1, None) == {1: D(-2)}
    assert stock.effects(MoveKind.TRANSFER, D(3), 1, 2) == {1: D(-3), 2: D(3)}


@pytest.mark.parametrize(
    ("kind", "qty", "to", "field"),
    [
        (MoveKind.ISSUE, D(-1), None, "qty"),
        (MoveKind.TRANSFER, D(1), None, "to_location_id"),
        (MoveKind.TRANSFER, D(1), 1, "to_location_id"),
        (MoveKind.RECEIVE, D(1), 2, "to_location_id"),
    ],
)
def test_move_shape_rules(kind: MoveKind, qty: Decimal, to: int | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        stock.check_move(kind, qty, 1, to)
    assert err.value.field == field


def test_never_below_zero_nor_below_reserved() -> None:
    level = Level(D(10), D(4))
    assert stock.apply(level, D(-6)) == Level(D(4), D(4))
    assert stock.apply(level, D(-4), D(-4)) == Level(D(6), D(0))  # an issue of a reserved line
    with pytest.raises(Conflict):
        stock.apply(level, D(-7))  # 3 would be left for 4 reserved
    with pytest.raises(Conflict):
        stock.apply(level, D(-11), D(-4))
    with pytest.raises(Conflict):
        stock.apply(level, D(0), D(7))  # reserving more than is available
    with pytest.raises(Conflict):
        stock.apply(level, D(0), D(-5))
    with pytest.raises(Conflict):
        stock.apply(level, stock.MAX_LEVEL)


@pytest.mark.parametrize(
    ("on_hand", "average", "qty", "cost", "expected"),
    [
        (D(0), D(0), D(10), D("2.00"), D("2.0000")),  # empty stock takes the receipt's cost
        (D(10), D(2), D(30), D("4.00"), D("3.5000")),  # (20 + 120) / 40
        (D(36), D("3.5"), D(4), D("1.25"), D("3.2750")),  # (126 + 5) / 40
        (D(40), D("3.275"), D(3), D("1.00"), D("3.1163")),  # 134 / 43 = 3.116279..
        (D(1), D("0.0001"), D(2), D("0.00"), D("0.0000")),  # 0.0001 / 3 rounds half-up to 0
        (D("2.5"), D("10"), D("0.5"), D("16"), D("11.0000")),  # litres: (25 + 8) / 3
    ],
)
def test_moving_average_by_hand(
    on_hand: Decimal, average: Decimal, qty: Decimal, cost: Decimal, expected: Decimal
) -> None:
    assert stock.moving_average(on_hand, average, qty, cost) == expected


def test_low_stock_raises_once_per_crossing() -> None:
    minimum = D(5)
    states = []
    low = False
    for available in [D(8), D(4), D(3), D(1), D(5), D(2), D(2)]:
        low, alert = stock.low_stock(low, available, minimum)
        states.append((low, alert))
    assert states == [
        (False, False),
        (True, True),
        (True, False),
        (True, False),
        (False, False),  # back at the minimum: no longer below it
        (True, True),  # a second crossing, a second alert
        (True, False),
    ]
    assert stock.low_stock(False, D(0), D(0)) == (False, False)  # no minimum, never low


def test_line_cost_rounds_half_up_to_cents() -> None:
    assert stock.line_cost(D(3), D("3.1163")) == D("9.35")  # 9.3489
    assert stock.line_cost(D("0.5"), D("0.0100")) == D("0.01")  # 0.005
