"""The stock rules: quantities, what a move does to each location, the moving average, low stock.

Quantities are decimal strings with at most three decimal places (`"2.5"` litres, `"0.125"` kg,
`"4"` pieces), whatever the part's unit: one rule the database enforces too (numeric(15,3)).
A single move moves at most 999,999,999.999 units. Every rule here is pure so that the unit tests
and the ledger replay of the property test use the very functions the services run.

Direction: `receive` and `return` add to `location_id`; `issue` takes from it; `transfer` takes
from `location_id` and adds to `to_location_id`; `adjust` adds its signed quantity (a count that
found more, or less). Stock never goes below zero and never below what is reserved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from cmms.domain.errors import Conflict, ValidationFailed

PLACES = Decimal("0.001")
COST_PLACES = Decimal("0.0001")
ZERO = Decimal("0")
# numeric(15,3) holds less than 10^12; a level may not grow past it (a 409, not a database error)
MAX_LEVEL = Decimal("999999999999.999")

QTY_PATTERN = r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?$"
SIGNED_QTY_PATTERN = r"^-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,3})?$"
_QTY = re.compile(QTY_PATTERN)
_SIGNED = re.compile(SIGNED_QTY_PATTERN)
_HELP = 'a decimal string with at most 3 decimal places and 9 integer digits, e.g. "2.5"'


class MoveKind(StrEnum):
    RECEIVE = "receive"
    ISSUE = "issue"
    RETURN = "return"
    ADJUST = "adjust"
    TRANSFER = "transfer"


def _parse(value: Any, pattern: re.Pattern[str], what: str) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"{what} is {_HELP}, not a JSON number")
    if not pattern.match(value):
        raise ValueError(f"{what} must be {_HELP}")
    return Decimal(value)


def _positive(value: Any) -> Decimal:
    number = _parse(value, _QTY, "a quantity")
    if number <= 0:
        raise ValueError("a quantity must be greater than zero")
    return number


def _not_negative(value: Any) -> Decimal:
    return _parse(value, _QTY, "a quantity")


def _non_zero(value: Any) -> Decimal:
    number = _parse(value, _SIGNED, "a quantity")
    if number == 0:
        raise ValueError("a quantity must not be zero")
    return number


Qty = Annotated[
    Decimal,
    BeforeValidator(_positive),
    WithJsonSchema({"type": "string", "pattern": QTY_PATTERN, "examples": ["2.5"]}),
]
QtyOrZero = Annotated[
    Decimal,
    BeforeValidator(_not_negative),
    WithJsonSchema({"type": "string", "pattern": QTY_PATTERN, "examples": ["0"]}),
]
SignedQty = Annotated[
    Decimal,
    BeforeValidator(_non_zero),
    WithJsonSchema({"type": "string", "pattern": SIGNED_QTY_PATTERN, "examples": ["-1.5"]}),
]


def qty_text(value: Decimal) -> str:
    """A quantity as the API writes it: no exponent, no trailing zeros ("2.5", "10")."""
    text = format(Decimal(value).quantize(PLACES), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def cost_text(value: Decimal) -> str:
    return format(Decimal(value).quantize(COST_PLACES, rounding=ROUND_HALF_UP), "f")


@dataclass(frozen=True)
class Level:
    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


def check_move(kind: MoveKind, qty: Decimal, location_id: int, to_location_id: int | None) -> None:
    """The shape rules of a move, before any stock is read (422 naming the field)."""
    if qty < 0 and kind != MoveKind.ADJUST:
        raise ValidationFailed("only an adjust may have a negative quantity", field="qty")
    if kind == MoveKind.TRANSFER:
        if to_location_id is None:
            raise ValidationFailed("a transfer needs to_location_id", field="to_location_id")
        if to_location_id == location_id:
            raise ValidationFailed("a transfer goes to another location", field="to_location_id")
    elif to_location_id is not None:
        raise ValidationFailed("only a transfer has to_location_id", field="to_location_id")


def effects(kind: MoveKind, qty: Decimal, location_id: int, to_location_id: int | None) -> dict[int, Decimal]:
    """{location: change of on_hand} for one move."""
    if kind in (MoveKind.RECEIVE, MoveKind.RETURN, MoveKind.ADJUST):
        return {location_id: qty}
    if kind == MoveKind.ISSUE:
        return {location_id: -qty}
    assert to_location_id is not None
    return {location_id: -qty, to_location_id: qty}


def apply(level: Level, on_hand_delta: Decimal = ZERO, reserved_delta: Decimal = ZERO, *, field: str = "qty") -> Level:
    """The level after a change, or 409: never below zero, never below what is reserved."""
    after = Level(level.on_hand + on_hand_delta, level.reserved + reserved_delta)
    if after.on_hand < 0:
        raise Conflict(f"only {qty_text(level.on_hand)} on hand: the move would take stock below zero", field=field)
    if after.reserved < 0:
        raise Conflict("that would release more than is reserved", field=field)
    if after.available < 0:
        raise Conflict(f"only {qty_text(level.available)} available ({qty_text(level.reserved)} reserved)", field=field)
    if after.on_hand > MAX_LEVEL:
        raise Conflict("the stock level would exceed what a location can hold", field=field)
    return after


def moving_average(on_hand: Decimal, average: Decimal, qty: Decimal, unit_cost: Decimal) -> Decimal:
    """The part's average cost after `qty` arrive at `unit_cost` onto `on_hand` (all locations).

    (on_hand x average + qty x unit_cost) / (on_hand + qty), rounded half-up to 4 places; stock
    that was empty (or a count below zero, which cannot happen) takes the new cost as it is.
    """
    if qty <= 0:
        return average
    if on_hand <= 0:
        return unit_cost.quantize(COST_PLACES, rounding=ROUND_HALF_UP)
    total = on_hand * average + qty * unit_cost
    return (total / (on_hand + qty)).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def raises_average(kind: MoveKind) -> bool:
    """Stock that arrives at its own cost moves the average; counts and transfers do not."""
    return kind in (MoveKind.RECEIVE, MoveKind.RETURN)


def low_stock(was_low: bool, available: Decimal, min_qty: Decimal) -> tuple[bool, bool]:
    """(low now, raise an alert now): one alert per crossing below min_qty.

    The flag is cleared only once available is no longer below the minimum, so stock that hovers
    under it raises nothing more; a part with min_qty 0 is never low.
    """
    low = min_qty > 0 and available < min_qty
    return low, low and not was_low


def line_cost(qty: Decimal, unit_cost: Decimal) -> Decimal:
    """Money for qty x unit_cost, rounded half-up to cents (the order's parts amount adds these)."""
    return (qty * unit_cost).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
