"""Time and cost on the real PostgreSQL: timer rules, manual entries, rates kept per entry, cost
lines, the cost summary against a table computed by hand, and the bad input of the issue."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmms.domain.costing import TimerStartIn
from cmms.domain.roles import Actor, Role
from cmms.runtime import Runtime
from cmms.services import timekeeping
from tests.integration.support import Tenant, assert_problem, ok
from tests.integration.work_support import order

T0 = datetime(2031, 5, 4, 7, 0, tzinfo=UTC)


def tech_actor(tenant: Tenant) -> Actor:
    return Actor(tenant.id, tenant["technician"].user_id, Role.TECHNICIAN)


async def set_rate(tenant: Tenant, key: str, rate: str) -> None:
    ok(await tenant["manager"].patch(f"/api/v1/users/{tenant[key].user_id}", {"hourly_rate": rate}))


async def test_timer_rules_over_http(tenant: Tenant) -> None:
    tech = tenant["technician"]
    first, second = await order(tenant), await order(tenant)
    assert ok(await tech.get("/api/v1/me/timer")) == {"timer": None}
    assert_problem(await tech.post(f"/api/v1/orders/{first['id']}/timer/stop"), 409, field="timer")
    started = ok(await tech.post(f"/api/v1/orders/{first['id']}/timer/start"))
    assert started["stopped"] is None and started["timer"]["order_id"] == first["id"]
    again = ok(await tech.post(f"/api/v1/orders/{first['id']}/timer/start"))  # already running there
    assert again == started
    assert_problem(await tech.post(f"/api/v1/orders/{second['id']}/timer/stop"), 409, field="timer")
    moved = ok(await tech.post(f"/api/v1/orders/{second['id']}/timer/start", {"category": "travel"}))
    assert moved["timer"]["order_id"] == second["id"] and moved["timer"]["category"] == "travel"
    stopped = moved["stopped"]
    assert stopped["order_id"] == first["id"] and stopped["source"] == "timer" and stopped["minutes"] == 1
    entries = ok(await tech.get(f"/api/v1/orders/{first['id']}/time"))["items"]
    assert [e["id"] for e in entries] == [stopped["id"]]
    assert ok(await tech.get("/api/v1/me/timer"))["timer"]["order_id"] == second["id"]
    running = await tenant.sql("SELECT order_id FROM timers WHERE user_id = %s", (tech.user_id,))
    assert running == [{"order_id": second["id"]}]
    entry = ok(await tech.post(f"/api/v1/orders/{second['id']}/timer/stop"), 201)
    assert entry["category"] == "travel"
    assert ok(await tech.get("/api/v1/me/timer")) == {"timer": None}
    audit = await tenant.sql(
        "SELECT action FROM audit_log WHERE entity = 'order' AND entity_id = %s ORDER BY id", (first["id"],)
    )
    assert [a["action"] for a in audit if a["action"].startswith("timer")] == ["timer_start", "timer_stop"]


@pytest.mark.parametrize(
    ("elapsed", "minutes", "capped"),
    [
        (timedelta(seconds=5), 1, False),  # at least a minute
        (timedelta(seconds=89), 1, False),
        (timedelta(seconds=90), 2, False),  # half a minute rounds up
        (timedelta(minutes=47, seconds=29), 47, False),
        (timedelta(hours=24), 1440, False),
        (timedelta(hours=60), 1440, True),  # a forgotten timer is capped at 24 h and says so
    ],
)
async def test_timer_minutes(rt: Runtime, tenant: Tenant, elapsed: timedelta, minutes: int, capped: bool) -> None:
    wo = await order(tenant)
    actor = tech_actor(tenant)
    await timekeeping.start(dataclasses.replace(rt.deps, clock=lambda: T0), actor, wo["id"], TimerStartIn())
    entry = await timekeeping.stop(dataclasses.replace(rt.deps, clock=lambda: T0 + elapsed), actor, wo["id"])
    assert entry["minutes"] == minutes
    assert entry["started_at"] == T0
    assert ("24 h" in entry["note"]) == capped


async def test_each_entry_keeps_its_rate(tenant: Tenant) -> None:
    tech, wo = tenant["technician"], await order(tenant)
    await set_rate(tenant, "technician", "45.00")
    first = ok(await tech.post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 30, "note": "strip down"}), 201)
    assert (first["hourly_rate"], first["cost"], first["user_id"]) == ("45.00", "22.50", tech.user_id)
    await set_rate(tenant, "technician", "60.00")
    second = ok(await tech.post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 30, "category": "overtime"}), 201)
    assert (second["hourly_rate"], second["cost"]) == ("60.00", "30.00")
    entries = ok(await tech.get(f"/api/v1/orders/{wo['id']}/time"))["items"]
    assert [(e["id"], e["hourly_rate"]) for e in entries] == [(second["id"], "60.00"), (first["id"], "45.00")]
    assert ok(await tech.get(f"/api/v1/orders/{wo['id']}/cost"))["labor"] == "52.50"


# (minutes, hourly rate, entry cost by hand = minutes x rate / 60 rounded half-up to cents)
LABOUR = [
    (1, "45.00", "0.75"),
    (7, "33.33", "3.89"),  # 233.31 / 60 = 3.8885
    (20, "0.10", "0.03"),  # 0.0333...
    (3, "0.10", "0.01"),  # 0.005: exactly half a cent rounds up
    (3, "0.10", "0.01"),
    (3, "0.10", "0.01"),  # per entry: 0.03 for the three; rounding the sum would give 0.02
    (90, "52.50", "78.75"),
    (1440, "99.99", "2399.76"),
]
OTHER = [("contractor", "150.00"), ("material", "12.5"), ("other", "0.05")]
# By hand: labour 0.75 + 3.89 + 0.03 + 0.03 + 78.75 + 2399.76 = 2483.21 over 1567 minutes;
# other 150.00 + 12.50 + 0.05 = 162.55; parts 0.00; total 2645.76.
EXPECTED = {"labor_minutes": 1567, "labor": "2483.21", "parts": "0.00", "other": "162.55", "total": "2645.76"}


async def test_cost_summary_matches_the_hand_computed_table(tenant: Tenant) -> None:
    tech, wo = tenant["technician"], await order(tenant)
    for minutes, rate, cost in LABOUR:
        await set_rate(tenant, "technician", rate)
        entry = ok(await tech.post(f"/api/v1/orders/{wo['id']}/time", {"minutes": minutes}), 201)
        assert entry["cost"] == cost, (minutes, rate)
    for category, amount in OTHER:
        line = ok(await tech.post(f"/api/v1/orders/{wo['id']}/costs", {"category": category, "amount": amount}), 201)
        assert line["amount"] == f"{float(amount):.2f}"
    summary = ok(await tech.get(f"/api/v1/orders/{wo['id']}/cost"))
    assert {k: summary[k] for k in EXPECTED} == EXPECTED
    assert summary["currency"] == "EUR"
    await tenant.sql("UPDATE tenants SET currency = 'CHF' WHERE id = %s RETURNING id", (tenant.id,))
    try:
        assert ok(await tech.get(f"/api/v1/orders/{wo['id']}/cost"))["currency"] == "CHF"
    finally:
        await tenant.sql("UPDATE tenants SET currency = 'EUR' WHERE id = %s RETURNING id", (tenant.id,))


async def test_deleting_time_and_costs(tenant: Tenant) -> None:
    await tenant.add_user("technician2", "technician")
    tech, other, admin = tenant["technician"], tenant["technician2"], tenant["admin"]
    wo = await order(tenant)
    mine = ok(await tech.post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 15}), 201)
    theirs = ok(await tech.post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 20}), 201)
    cost = ok(await tech.post(f"/api/v1/orders/{wo['id']}/costs", {"category": "material", "amount": "9.99"}), 201)
    assert_problem(await other.delete(f"/api/v1/orders/{wo['id']}/time/{mine['id']}"), 403)
    assert_problem(await other.delete(f"/api/v1/orders/{wo['id']}/costs/{cost['id']}"), 403)
    stale = await tech.delete(f"/api/v1/orders/{wo['id']}/time/{mine['id']}", headers={"If-Match": '"7"'})
    assert_problem(stale, 412)
    ok(await tech.delete(f"/api/v1/orders/{wo['id']}/time/{mine['id']}", headers={"If-Match": '"1"'}), 204)
    ok(await admin.delete(f"/api/v1/orders/{wo['id']}/time/{theirs['id']}"), 204)
    ok(await admin.delete(f"/api/v1/orders/{wo['id']}/costs/{cost['id']}"), 204)
    assert_problem(await admin.delete(f"/api/v1/orders/{wo['id']}/time/{mine['id']}"), 404, field="entry_id")
    summary = ok(await admin.get(f"/api/v1/orders/{wo['id']}/cost"))
    assert (summary["labor_minutes"], summary["total"]) == (0, "0.00")
    # Another order's entry is not this order's.
    elsewhere = await order(tenant)
    entry = ok(await tech.post(f"/api/v1/orders/{elsewhere['id']}/time", {"minutes": 5}), 201)
    assert_problem(await admin.delete(f"/api/v1/orders/{wo['id']}/time/{entry['id']}"), 404, field="entry_id")


async def test_supervisors_log_time_for_others(tenant: Tenant) -> None:
    wo = await order(tenant)
    tech_id, requester_id = tenant["technician"].user_id, tenant["requester"].user_id
    reply = await tenant["manager"].post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 10, "user_id": tech_id})
    entry = ok(reply, 201)
    assert entry["user_id"] == tech_id and entry["created_by"] == tenant["manager"].user_id
    reply = await tenant["manager"].post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 10, "user_id": requester_id})
    assert_problem(reply, 422, field="user_id")
    reply = await tenant["technician"].post(
        f"/api/v1/orders/{wo['id']}/time", {"minutes": 10, "user_id": tenant["manager"].user_id}
    )
    assert_problem(reply, 403, field="user_id")


def _future() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


BAD_TIME: list[tuple[dict[str, Any], str]] = [
    ({"minutes": 0}, "minutes"),
    ({"minutes": -15}, "minutes"),
    ({"minutes": 1441}, "minutes"),
    ({"minutes": 100000}, "minutes"),
    ({"minutes": 30.5}, "minutes"),
    ({"minutes": "30"}, "minutes"),
    ({}, "minutes"),
    ({"minutes": 30, "category": "lunch"}, "category"),
    ({"minutes": 30, "started_at": "yesterday"}, "started_at"),
    ({"minutes": 30, "started_at": "2031-01-01T08:00:00"}, "started_at"),  # no offset
    ({"minutes": 30, "started_at": "FUTURE"}, "started_at"),
    ({"minutes": 30, "rate": "10.00"}, "rate"),
]
BAD_COSTS: list[tuple[dict[str, Any], str]] = [
    ({"category": "material", "amount": "-1.00"}, "amount"),
    ({"category": "material", "amount": -1}, "amount"),
    ({"category": "material", "amount": 12.5}, "amount"),
    ({"category": "material", "amount": 12}, "amount"),
    ({"category": "material", "amount": "12.345"}, "amount"),
    ({"category": "material", "amount": "12,50"}, "amount"),
    ({"category": "material", "amount": "1e3"}, "amount"),
    ({"category": "material", "amount": "NaN"}, "amount"),
    ({"category": "material", "amount": "99999999999.00"}, "amount"),
    ({"category": "material"}, "amount"),
    ({"category": "parts", "amount": "1.00"}, "category"),
]


BAD = [("time", b, f) for b, f in BAD_TIME] + [("costs", b, f) for b, f in BAD_COSTS]


@pytest.mark.parametrize(("kind", "body", "field"), BAD, ids=[f"{k}-{f}-{i}" for i, (k, _, f) in enumerate(BAD)])
async def test_bad_input_names_the_field_and_writes_nothing(
    tenant: Tenant, kind: str, body: dict[str, Any], field: str
) -> None:
    wo = await order(tenant)
    body = {k: (_future() if v == "FUTURE" else v) for k, v in body.items()}
    reply = await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/{kind}", body)
    assert_problem(reply, 422, field=field)
    written = await tenant.sql(
        "SELECT (SELECT count(*) FROM time_entries WHERE order_id = %(o)s)"
        " + (SELECT count(*) FROM order_costs WHERE order_id = %(o)s)"
        " + (SELECT count(*) FROM audit_log WHERE entity = 'order' AND entity_id = %(o)s AND action <> 'create'"
        "    AND action <> 'assign') AS n",
        {"o": wo["id"]},
    )
    assert written == [{"n": 0}]


async def test_time_and_cost_events_go_to_staff_only(tenant: Tenant) -> None:
    wo = ok(await tenant["requester"].post("/api/v1/orders", {"title": "Door sticks"}), 201)
    ok(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 5}), 201)
    ok(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/costs", {"category": "other", "amount": "1.00"}), 201)
    events = await tenant.sql(
        "SELECT audience, data FROM outbox WHERE type = 'order:updated' AND (data->>'id')::bigint = %s ORDER BY seq",
        (wo["id"],),
    )
    assert [e["data"]["changed"] for e in events] == [["time"], ["cost"]]
    assert all(f"user:{tenant['requester'].user_id}" not in e["audience"] for e in events)
    assert events[1]["data"]["cost"]["amount"] == "1.00"
    for path in ("time", "costs", "cost"):
        assert_problem(await tenant["requester"].get(f"/api/v1/orders/{wo['id']}/{path}"), 403)
    replay = ok(await tenant["requester"].get("/api/v1/events", params={"after": 0}))["items"]
    assert not any(e["type"] == "order:updated" and e["data"]["id"] == wo["id"] for e in replay)


async def test_settled_orders_take_no_more_time(tenant: Tenant) -> None:
    wo = await order(tenant)
    ok(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/transition", {"to": "cancelled"}))
    for kind, body in (("time", {"minutes": 5}), ("costs", {"category": "other", "amount": "1.00"})):
        assert_problem(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/{kind}", body), 409, field="status")
    assert_problem(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/timer/start"), 409, field="status")
