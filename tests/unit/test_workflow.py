"""The work-order workflow and role rules, checked against a table written out independently here."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from cmms.domain import workflow as wf
from cmms.domain.errors import Forbidden, InvalidTransition
from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import OrderRef, Status

S = Status
OWNER, OTHER = 10, 11  # requester ids
ASSIGNEE, BYSTANDER = 20, 21  # technician ids

# The contract: requested → open → in_progress ⇄ on_hold → completed → closed; cancelled from
# requested, open or on_hold; a supervisor may reopen completed → open.
EDGES = {
    (S.REQUESTED, S.OPEN),
    (S.REQUESTED, S.CANCELLED),
    (S.OPEN, S.IN_PROGRESS),
    (S.OPEN, S.CANCELLED),
    (S.IN_PROGRESS, S.ON_HOLD),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.ON_HOLD, S.IN_PROGRESS),
    (S.ON_HOLD, S.CANCELLED),
    (S.COMPLETED, S.CLOSED),
    (S.COMPLETED, S.OPEN),
}
HANDS_ON = {
    (S.OPEN, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.ON_HOLD),
    (S.ON_HOLD, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.COMPLETED),
}
ACTORS = {
    "admin": Actor(1, 1, Role.ADMIN),
    "manager": Actor(1, 2, Role.MANAGER),
    "technician-assigned": Actor(1, ASSIGNEE, Role.TECHNICIAN),
    "technician-not-assigned": Actor(1, BYSTANDER, Role.TECHNICIAN),
    "requester-own": Actor(1, OWNER, Role.REQUESTER),
    "requester-other": Actor(1, OTHER, Role.REQUESTER),
}
ALLOWED = {
    "admin": EDGES,
    "manager": EDGES,
    "technician-assigned": HANDS_ON,
    "technician-not-assigned": set(),
    "requester-own": {(S.REQUESTED, S.CANCELLED)},
    "requester-other": set(),
}


def order(status: Status) -> OrderRef:
    return OrderRef(status=status, assignee_id=ASSIGNEE, requested_by=OWNER)


def test_the_transition_table_is_the_contracts() -> None:
    assert {(a, b) for a, tos in wf.TRANSITIONS.items() for b in tos} == EDGES
    assert set(wf.TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("who", "frm", "to"), list(product(ACTORS, Status, Status)))
def test_may_transition_every_pair_for_every_actor(who: str, frm: Status, to: Status) -> None:
    expected = (frm, to) in ALLOWED[who]
    assert wf.may_transition(ACTORS[who], order(frm), to) is expected


@pytest.mark.parametrize(("who", "frm", "to"), list(product(ACTORS, Status, Status)))
def test_check_transition_raises_the_right_error(who: str, frm: Status, to: Status) -> None:
    actor, ref = ACTORS[who], order(frm)
    if (frm, to) not in EDGES:
        with pytest.raises(InvalidTransition) as exc:
            wf.check_transition(actor, ref, to)
        assert exc.value.field == "to"
    elif (frm, to) in ALLOWED[who]:
        wf.check_transition(actor, ref, to)
    else:
        with pytest.raises(Forbidden):
            wf.check_transition(actor, ref, to)


@pytest.mark.parametrize(("who", "frm"), list(product(ACTORS, Status)))
def test_allowed_transitions_in_workflow_order(who: str, frm: Status) -> None:
    expected = [s for s in Status if (frm, s) in ALLOWED[who]]
    assert wf.allowed_transitions(ACTORS[who], order(frm)) == expected


def test_technician_acts_only_on_orders_assigned_to_them() -> None:
    unassigned = OrderRef(S.OPEN, assignee_id=None, requested_by=OWNER)
    assert not wf.may_transition(ACTORS["technician-assigned"], unassigned, S.IN_PROGRESS)
    assert wf.allowed_transitions(ACTORS["technician-assigned"], unassigned) == []


def test_requester_without_owner_cannot_cancel() -> None:
    anonymous_request = OrderRef(S.REQUESTED, assignee_id=None, requested_by=None)
    assert not wf.may_transition(ACTORS["requester-own"], anonymous_request, S.CANCELLED)


def test_terminal_statuses_have_no_way_out() -> None:
    for status in (S.CLOSED, S.CANCELLED):
        assert wf.allowed_transitions(ACTORS["admin"], order(status)) == []


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", S.OPEN), ("manager", S.OPEN), ("technician-assigned", S.REQUESTED), ("requester-own", S.REQUESTED)],
)
def test_initial_status(who: str, expected: Status) -> None:
    assert wf.initial_status(ACTORS[who]) == expected


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("admin", True),
        ("manager", True),
        ("technician-assigned", True),
        ("technician-not-assigned", True),
        ("requester-own", True),
        ("requester-other", False),
    ],
)
def test_may_see(who: str, visible: bool) -> None:
    assert wf.may_see(ACTORS[who], order(S.OPEN)) is visible


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", True),
        ("manager", True),
        ("technician-assigned", True),
        ("technician-not-assigned", False),
        ("requester-own", True),
        ("requester-other", False),
    ],
)
def test_may_add_note(who: str, allowed: bool) -> None:
    assert wf.may_add_note(ACTORS[who], order(S.IN_PROGRESS)) is allowed


# ---- check_update -------------------------------------------------------------------------------

EVERY_FIELD = {"title", "description", "type", "priority", "asset_id", "assignee_id", "due_at", "downtime_minutes"}
FIELDS_BY_ACTOR = {
    "admin": EVERY_FIELD,
    "manager": EVERY_FIELD,
    "technician-assigned": {"description", "downtime_minutes"},
    "technician-not-assigned": set(),
    "requester-own": {"title", "description", "asset_id", "priority"},
}


@pytest.mark.parametrize(("who", "field"), list(product(FIELDS_BY_ACTOR, sorted(EVERY_FIELD))))
def test_check_update_field_rules(who: str, field: str) -> None:
    # A requester edits only while the order is still a request; others on an active order.
    ref = order(S.REQUESTED if who.startswith("requester") else S.IN_PROGRESS)
    if field in FIELDS_BY_ACTOR[who]:
        wf.check_update(ACTORS[who], ref, {field})
    else:
        with pytest.raises(Forbidden) as exc:
            wf.check_update(ACTORS[who], ref, {field})
        if who != "technician-not-assigned":
            assert exc.value.field == field


def test_check_update_names_the_first_refused_field() -> None:
    with pytest.raises(Forbidden) as exc:
        wf.check_update(ACTORS["technician-assigned"], order(S.OPEN), {"title", "priority", "description"})
    assert exc.value.field == "priority"
    assert "priority" in exc.value.detail and "title" in exc.value.detail


@pytest.mark.parametrize("field", ["status", "number", "requested_by", "started_at", "plan_id"])
def test_check_update_refuses_fields_nobody_may_set(field: str) -> None:
    with pytest.raises(Forbidden):
        wf.check_update(ACTORS["admin"], order(S.OPEN), {field})


@pytest.mark.parametrize("status", [S.OPEN, S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.CLOSED, S.CANCELLED])
def test_requester_cannot_edit_once_approved(status: Status) -> None:
    with pytest.raises(Forbidden):
        wf.check_update(ACTORS["requester-own"], order(status), {"description"})


def test_requester_cannot_edit_another_requesters_request() -> None:
    """Like transitions and notes, editing a request is for the requester who filed it."""
    with pytest.raises(Forbidden):
        wf.check_update(ACTORS["requester-other"], order(S.REQUESTED), {"description"})


@pytest.mark.parametrize(
    ("who", "status"), list(product(["admin", "manager", "technician-assigned"], [S.CLOSED, S.CANCELLED]))
)
def test_closed_and_cancelled_orders_are_frozen(who: str, status: Status) -> None:
    with pytest.raises(InvalidTransition):
        wf.check_update(ACTORS[who], order(status), {"description"})


@pytest.mark.parametrize("status", [S.REQUESTED, S.OPEN, S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED])
def test_supervisor_edits_every_active_or_completed_order(status: Status) -> None:
    wf.check_update(ACTORS["manager"], order(status), set(EVERY_FIELD))


# ---- stamps and numbers ---------------------------------------------------------------------------

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
EARLIER = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "to", "expected"),
    [
        ({"status": S.OPEN, "started_at": None}, S.IN_PROGRESS, {"started_at": NOW}),
        ({"status": S.ON_HOLD, "started_at": EARLIER}, S.IN_PROGRESS, {}),
        ({"status": S.IN_PROGRESS, "started_at": EARLIER}, S.ON_HOLD, {}),
        ({"status": S.IN_PROGRESS, "started_at": EARLIER}, S.COMPLETED, {"completed_at": NOW}),
        ({"status": S.COMPLETED, "completed_at": EARLIER}, S.CLOSED, {"closed_at": NOW}),
        ({"status": S.COMPLETED, "completed_at": EARLIER}, S.OPEN, {"completed_at": None}),
        ({"status": S.REQUESTED}, S.OPEN, {}),
        ({"status": S.OPEN}, S.CANCELLED, {}),
        ({"status": "completed", "completed_at": EARLIER}, S.OPEN, {"completed_at": None}),
    ],
)
def test_transition_stamps(current: dict[str, object], to: Status, expected: dict[str, object]) -> None:
    assert wf.transition_stamps(current, to, NOW) == expected


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "WO-000001"), (42, "WO-000042"), (123456, "WO-123456"), (999999, "WO-999999"), (1234567, "WO-1234567")],
)
def test_format_number(n: int, text: str) -> None:
    assert wf.format_number(n) == text


def test_active_statuses() -> None:
    assert wf.ACTIVE == {S.REQUESTED, S.OPEN, S.IN_PROGRESS, S.ON_HOLD}
