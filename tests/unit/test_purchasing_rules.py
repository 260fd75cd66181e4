"""Purchase-order rules without I/O: the workflow, receipts within what is outstanding, the status after."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cmms.domain import purchasing
from cmms.domain.errors import Conflict, InvalidTransition, ValidationFailed
from cmms.domain.purchasing import POStatus

D = Decimal
LINES = {1: {"qty": D(10), "received_qty": D(4)}, 2: {"qty": D("2.5"), "received_qty": D(0)}}


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (POStatus.DRAFT, POStatus.ORDERED, True),
        (POStatus.DRAFT, POStatus.CANCELLED, True),
        (POStatus.ORDERED, POStatus.CANCELLED, True),
        (POStatus.ORDERED, POStatus.RECEIVED, False),  # receipts decide that
        (POStatus.PARTIALLY_RECEIVED, POStatus.CANCELLED, False),
        (POStatus.RECEIVED, POStatus.CANCELLED, False),
        (POStatus.CANCELLED, POStatus.ORDERED, False),
    ],
)
def test_transitions(current: POStatus, to: POStatus, allowed: bool) -> None:
    if allowed:
        purchasing.check_transition(current, to)
    else:
        with pytest.raises(InvalidTransition):
            purchasing.check_transition(current, to)


def test_receipts_add_up_and_stop_at_what_is_outstanding() -> None:
    assert purchasing.receipt(LINES, [(1, D(2)), (1, D(4)), (2, D("2.5"))]) == {1: D(6), 2: D("2.5")}
    with pytest.raises(Conflict) as over:
        purchasing.receipt(LINES, [(1, D(5)), (1, D("1.001"))])
    assert over.value.field == "lines.1.qty"
    with pytest.raises(ValidationFailed) as unknown:
        purchasing.receipt(LINES, [(3, D(1))])
    assert unknown.value.field == "lines.0.line_id"


def test_status_after_receipt() -> None:
    assert purchasing.status_after_receipt(LINES.values()) == POStatus.PARTIALLY_RECEIVED
    full = [{"qty": D(1), "received_qty": D(1)}, {"qty": D("0.5"), "received_qty": D("0.5")}]
    assert purchasing.status_after_receipt(full) == POStatus.RECEIVED


@pytest.mark.parametrize("status", [POStatus.DRAFT, POStatus.RECEIVED, POStatus.CANCELLED])
def test_only_ordered_orders_receive(status: POStatus) -> None:
    with pytest.raises(Conflict):
        purchasing.check_receivable(status)
