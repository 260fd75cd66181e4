"""Who may use each time and cost route: every route of the table is in the matrix.

Each case builds a fresh order (filed by the requester, assigned to the technician) and, for
deletions, a line written by the assigned technician, so one caller's success cannot change what
the next one meets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cmms.api.routes import time_cost as time_cost_routes
from tests.integration.support import Tenant, assert_problem, ok
from tests.integration.work_support import CALLERS, requested_order

Setup = Callable[[Tenant, str], Awaitable[tuple[str, Any]]]


async def me_timer(tenant: Tenant, who: str) -> tuple[str, Any]:
    return "/api/v1/me/timer", None


async def start(tenant: Tenant, who: str) -> tuple[str, Any]:
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/timer/start", {"category": "normal"}


async def stop(tenant: Tenant, who: str) -> tuple[str, Any]:
    """The caller's own timer runs on the order (where the caller may start one at all)."""
    wo = await requested_order(tenant)
    await tenant[who].post(f"/api/v1/orders/{wo['id']}/timer/start")
    return f"/api/v1/orders/{wo['id']}/timer/stop", None


async def list_time(tenant: Tenant, who: str) -> tuple[str, Any]:
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/time", None


async def add_time(tenant: Tenant, who: str) -> tuple[str, Any]:
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/time", {"minutes": 30}


async def delete_time(tenant: Tenant, who: str) -> tuple[str, Any]:
    wo = await requested_order(tenant)
    entry = ok(await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/time", {"minutes": 30}), 201)
    return f"/api/v1/orders/{wo['id']}/time/{entry['id']}", None


async def list_costs(tenant: Tenant, who: str) -> tuple[str, Any]:
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/costs", None


async def add_cost(tenant: Tenant, who: str) -> tuple[str, Any]:
    body = {"category": "contractor", "amount": "120.00"}
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/costs", body


async def delete_cost(tenant: Tenant, who: str) -> tuple[str, Any]:
    wo = await requested_order(tenant)
    body = {"category": "material", "amount": "3.20"}
    line = ok(await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/costs", body), 201)
    return f"/api/v1/orders/{wo['id']}/costs/{line['id']}", None


async def summary(tenant: Tenant, who: str) -> tuple[str, Any]:
    return f"/api/v1/orders/{(await requested_order(tenant))['id']}/cost", None


READ = {"admin": 200, "manager": 200, "technician": 200, "technician2": 200, "requester": 403}
WRITE = {"admin": 200, "manager": 200, "technician": 200, "technician2": 403, "requester": 403}
# Stopping needs a running timer: technician2 and the requester could not start one, so theirs is 409/403.
STOP = {"admin": 201, "manager": 201, "technician": 201, "technician2": 409, "requester": 403}
# Deleting: the author (the assigned technician) or a supervisor.
DELETE = {"admin": 204, "manager": 204, "technician": 204, "technician2": 403, "requester": 403}


def _as(expected: dict[str, int], status: int) -> dict[str, int]:
    return {k: status if v == 200 else v for k, v in expected.items()}


MATRIX: dict[tuple[str, str], tuple[Setup, dict[str, int]]] = {
    ("GET", "/api/v1/me/timer"): (me_timer, {k: 200 for k in CALLERS}),
    ("POST", "/api/v1/orders/{id}/timer/start"): (start, WRITE),
    ("POST", "/api/v1/orders/{id}/timer/stop"): (stop, STOP),
    ("GET", "/api/v1/orders/{id}/time"): (list_time, READ),
    ("POST", "/api/v1/orders/{id}/time"): (add_time, _as(WRITE, 201)),
    ("DELETE", "/api/v1/orders/{id}/time/{entry_id}"): (delete_time, DELETE),
    ("GET", "/api/v1/orders/{id}/costs"): (list_costs, READ),
    ("POST", "/api/v1/orders/{id}/costs"): (add_cost, _as(WRITE, 201)),
    ("DELETE", "/api/v1/orders/{id}/costs/{cost_id}"): (delete_cost, DELETE),
    ("GET", "/api/v1/orders/{id}/cost"): (summary, READ),
}
CASES = [(m, p, who) for (m, p) in MATRIX for who in CALLERS]


@pytest.fixture(scope="module")
async def crew(tenant: Tenant) -> Tenant:
    await tenant.add_user("technician2", "technician")
    return tenant


def test_every_route_is_in_the_matrix() -> None:
    assert {(r.method, r.path) for r in time_cost_routes.routes.routes} == set(MATRIX)


@pytest.mark.parametrize(("method", "path", "who"), CASES, ids=[f"{m} {p} {w}" for m, p, w in CASES])
async def test_role_matrix(crew: Tenant, method: str, path: str, who: str) -> None:
    setup, expected = MATRIX[(method, path)]
    url, body = await setup(crew, who)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    reply = await crew[who].request(method, url, **kwargs)
    if expected[who] >= 400:
        assert_problem(reply, expected[who])
    else:
        assert reply.status == expected[who], reply
    if method == "POST" and path.endswith("/start") and reply.status == 200:
        ok(await crew[who].post(url.replace("/start", "/stop")), 201)  # leave no timer running


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)])
async def test_without_a_token_is_401(crew: Tenant, method: str, path: str) -> None:
    setup, _ = MATRIX[(method, path)]
    url, body = await setup(crew, "admin")
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    assert_problem(await crew["admin"].with_token(None).request(method, url, **kwargs), 401)
    if path.endswith("/stop"):
        ok(await crew["admin"].post(url), 201)
