"""Who may use each procedure and checklist route: every route of the table is in the matrix.

Each case builds fresh records (a procedure, an order the requester filed and the technician
is assigned to) so a caller's success cannot change what the next caller meets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cmms.api.routes import procedures as procedure_routes
from tests.integration.support import Tenant, assert_problem
from tests.integration.work_support import CALLERS, procedure, requested_order

Setup = Callable[[Tenant], Awaitable[tuple[str, Any]]]
ITEMS = [{"label": "Check", "type": "checkbox", "required": True}]


async def _procedure_url(tenant: Tenant) -> str:
    return f"/api/v1/procedures/{(await procedure(tenant['admin'], ITEMS))['id']}"


async def _order_with_checklist(tenant: Tenant) -> tuple[dict[str, Any], int]:
    wo = await requested_order(tenant)
    proc = await procedure(tenant["admin"], ITEMS)
    reply = await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/checklist", {"procedure_id": proc["id"]})
    return wo, int(reply.json["items"][0]["id"])


async def list_procedures(tenant: Tenant) -> tuple[str, Any]:
    return "/api/v1/procedures", None


async def create_procedure(tenant: Tenant) -> tuple[str, Any]:
    return "/api/v1/procedures", {"name": "Inspection", "items": ITEMS}


async def one_procedure(tenant: Tenant) -> tuple[str, Any]:
    return await _procedure_url(tenant), None


async def edit_procedure(tenant: Tenant) -> tuple[str, Any]:
    return await _procedure_url(tenant), {"name": "Renamed"}


async def get_checklist(tenant: Tenant) -> tuple[str, Any]:
    wo, _ = await _order_with_checklist(tenant)
    return f"/api/v1/orders/{wo['id']}/checklist", None


async def attach(tenant: Tenant) -> tuple[str, Any]:
    wo = await requested_order(tenant)
    proc = await procedure(tenant["admin"], ITEMS)
    return f"/api/v1/orders/{wo['id']}/checklist", {"procedure_id": proc["id"]}


async def record_item(tenant: Tenant) -> tuple[str, Any]:
    wo, item_id = await _order_with_checklist(tenant)
    return f"/api/v1/orders/{wo['id']}/checklist/items/{item_id}", {"value": True}


STAFF_READ = {"admin": 200, "manager": 200, "technician": 200, "technician2": 200, "requester": 403}
SUPERVISOR_WRITE = {"admin": 200, "manager": 200, "technician": 403, "technician2": 403, "requester": 403}
ASSIGNED_WRITE = {"admin": 200, "manager": 200, "technician": 200, "technician2": 403, "requester": 403}


def _created(expected: dict[str, int], status: int) -> dict[str, int]:
    return {k: status if v == 200 else v for k, v in expected.items()}


MATRIX: dict[tuple[str, str], tuple[Setup, dict[str, int]]] = {
    ("GET", "/api/v1/procedures"): (list_procedures, STAFF_READ),
    ("POST", "/api/v1/procedures"): (create_procedure, _created(SUPERVISOR_WRITE, 201)),
    ("GET", "/api/v1/procedures/{id}"): (one_procedure, STAFF_READ),
    ("PATCH", "/api/v1/procedures/{id}"): (edit_procedure, SUPERVISOR_WRITE),
    ("DELETE", "/api/v1/procedures/{id}"): (one_procedure, _created(SUPERVISOR_WRITE, 204)),
    ("GET", "/api/v1/orders/{id}/checklist"): (get_checklist, STAFF_READ),
    ("POST", "/api/v1/orders/{id}/checklist"): (attach, _created(ASSIGNED_WRITE, 201)),
    ("PATCH", "/api/v1/orders/{id}/checklist/items/{item_id}"): (record_item, ASSIGNED_WRITE),
}
CASES = [(m, p, who) for (m, p) in MATRIX for who in CALLERS]


@pytest.fixture(scope="module")
async def crew(tenant: Tenant) -> Tenant:
    await tenant.add_user("technician2", "technician")
    return tenant


def test_every_route_is_in_the_matrix() -> None:
    assert {(r.method, r.path) for r in procedure_routes.routes.routes} == set(MATRIX)


@pytest.mark.parametrize(("method", "path", "who"), CASES, ids=[f"{m} {p} {w}" for m, p, w in CASES])
async def test_role_matrix(crew: Tenant, method: str, path: str, who: str) -> None:
    setup, expected = MATRIX[(method, path)]
    url, body = await setup(crew)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    reply = await crew[who].request(method, url, **kwargs)
    if expected[who] >= 400:
        assert_problem(reply, expected[who])
    else:
        assert reply.status == expected[who], reply


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=[f"{m} {p}" for m, p in sorted(MATRIX)])
async def test_without_a_token_is_401(crew: Tenant, method: str, path: str) -> None:
    setup, _ = MATRIX[(method, path)]
    url, body = await setup(crew)
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    assert_problem(await crew["admin"].with_token(None).request(method, url, **kwargs), 401)
