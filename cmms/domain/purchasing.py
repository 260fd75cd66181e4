"""Purchase orders: the workflow and the receipt rules, with what callers send and receive.

draft → ordered → partially_received → received; cancelled from draft or ordered only: once
anything was received the stock is real, and a cancellation would lie about it. A receipt may
take any part of what is still outstanding on each line, never more (no over-receipt).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from cmms.domain.errors import Conflict, InvalidTransition, ValidationFailed
from cmms.domain.model_queries import PageQuery
from cmms.domain.model_types import Id, Input, Money
from cmms.domain.stock import Qty

Text = Annotated[str, StringConstraints(max_length=2000)]


class POStatus(StrEnum):
    DRAFT = "draft"
    ORDERED = "ordered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


# the statuses a caller moves a purchase order to; the receipt statuses follow from receipts
TRANSITIONS: dict[POStatus, frozenset[POStatus]] = {
    POStatus.DRAFT: frozenset({POStatus.ORDERED, POStatus.CANCELLED}),
    POStatus.ORDERED: frozenset({POStatus.CANCELLED}),
    POStatus.PARTIALLY_RECEIVED: frozenset(),
    POStatus.RECEIVED: frozenset(),
    POStatus.CANCELLED: frozenset(),
}
RECEIVABLE = frozenset({POStatus.ORDERED, POStatus.PARTIALLY_RECEIVED})


def check_transition(current: POStatus, to: POStatus) -> None:
    if to not in TRANSITIONS[current]:
        why = " (something was received)" if current in (POStatus.PARTIALLY_RECEIVED, POStatus.RECEIVED) else ""
        raise InvalidTransition(f"a purchase order that is {current} cannot become {to}{why}", field="to")


def check_receivable(status: POStatus) -> None:
    if status not in RECEIVABLE:
        raise Conflict(f"a purchase order that is {status} receives nothing", field="status")


def outstanding(line: Mapping[str, Any]) -> Decimal:
    return Decimal(line["qty"]) - Decimal(line["received_qty"])


def receipt(lines: Mapping[int, Mapping[str, Any]], wanted: Iterable[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """{line id: qty to receive now}; a line named twice adds up; over-receipt is 409 naming the entry."""
    taken: dict[int, Decimal] = {}
    for index, (line_id, qty) in enumerate(wanted):
        if line_id not in lines:
            raise ValidationFailed(f"the purchase order has no line {line_id}", field=f"lines.{index}.line_id")
        total = taken.get(line_id, Decimal(0)) + qty
        left = outstanding(lines[line_id])
        if total > left:
            raise Conflict(f"line {line_id} has only {left.normalize():f} outstanding", field=f"lines.{index}.qty")
        taken[line_id] = total
    return taken


def status_after_receipt(lines: Iterable[Mapping[str, Any]]) -> POStatus:
    return POStatus.RECEIVED if all(outstanding(line) <= 0 for line in lines) else POStatus.PARTIALLY_RECEIVED


class POLineIn(Input):
    part_id: Id
    qty: Qty
    unit_cost: Money


class PurchaseOrderIn(Input):
    vendor_id: Id
    location_id: Id
    reference: Annotated[str, StringConstraints(max_length=200)] = ""
    notes: Text = ""
    lines: Annotated[list[POLineIn], Field(min_length=1, max_length=200)]


class POTransitionIn(Input):
    to: POStatus


class ReceiptLineIn(Input):
    line_id: Id
    qty: Qty


class ReceiptIn(Input):
    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=200)]


class POQuery(PageQuery):
    status: POStatus | None = None
    vendor_id: Id | None = None


class POLine(BaseModel):
    id: int
    part_id: int
    qty: str
    unit_cost: str
    received_qty: str


class PurchaseOrder(BaseModel):
    id: int
    vendor_id: int
    location_id: int
    status: POStatus
    reference: str
    notes: str
    total: str
    lines: list[POLine]
    created_by: int | None
    ordered_at: datetime | None
    received_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
