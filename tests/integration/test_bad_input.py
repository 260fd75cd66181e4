"""Bad input of every kind answers 4xx with an RFC 9457 problem document, never a 500 or a partial write."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.support import NO_BODY, Api, Tenant, assert_problem, ok, unique


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # may name {plant}, {asset}, {order}, {foreign_plant}
    status: int
    field: str | None = None
    json: Any = NO_BODY
    data: bytes | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    who: str = "admin"  # or "anon", "refresh-token", "bad-token:<value>"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


JSON = {"Content-Type": "application/json"}
ORDERS, PLANTS = "/api/v1/orders", "/api/v1/plants"
READINGS = "/api/v1/assets/{asset}/readings"
CASES: dict[str, Case] = {
    # bodies that are not a JSON object
    "invalid-json": Case("POST", PLANTS, 400, "body", data=b'{"name": "x",', headers=JSON),
    "not-utf8": Case("POST", PLANTS, 400, "body", data=b'{"name": "\xff\xfe"}', headers=JSON),
    "json-array": Case("POST", PLANTS, 422, "body", json=[{"name": "x"}]),
    "json-string": Case("POST", PLANTS, 422, "body", json="name"),
    "json-null": Case("POST", PLANTS, 422, "body", data=b"null", headers=JSON),
    "empty-body": Case("POST", PLANTS, 422, "body", data=b"", headers=JSON),
    "empty-body-transition": Case("POST", ORDERS + "/{order}/transition", 422, "body"),
    "too-large": Case("POST", PLANTS, 413, json={"name": "x", "address": "a" * 17_000_000}),  # over 16 MiB
    # fields
    "wrong-type-string": Case("POST", PLANTS, 422, "name", json={"name": 123}),
    "wrong-type-int": Case("POST", "/api/v1/assets", 422, "plant_id", json={"name": "x", "plant_id": "abc"}),
    "float-for-int": Case("PATCH", ORDERS + "/{order}", 422, "downtime_minutes", json={"downtime_minutes": 1.5}),
    "null-for-required": Case("POST", PLANTS, 422, "name", json={"name": None}),
    "missing-required": Case("POST", ORDERS, 422, "title", json={"description": "no title"}),
    "unknown-enum": Case("POST", ORDERS, 422, "priority", json={"title": "x", "priority": "urgent"}),
    "unknown-status": Case("POST", ORDERS + "/{order}/transition", 422, "to", json={"to": "done"}),
    "unknown-role": Case(
        "POST", "/api/v1/users", 422, "role", json={"email": "a@b.c", "role": "root", "password": "x" * 10}
    ),
    "unknown-field": Case("POST", PLANTS, 422, "colour", json={"name": "x", "colour": "red"}),
    "huge-string": Case("POST", PLANTS, 422, "name", json={"name": "x" * 100_000}),
    "huge-description": Case("POST", ORDERS, 422, "description", json={"title": "x", "description": "y" * 100_000}),
    "negative-number": Case("PATCH", ORDERS + "/{order}", 422, "downtime_minutes", json={"downtime_minutes": -1}),
    "huge-integer": Case(
        "PATCH",
        ORDERS + "/{order}",
        422,
        "downtime_minutes",
        data=b'{"downtime_minutes": 1' + b"0" * 30 + b"}",
        headers=JSON,
    ),
    "id-beyond-bigint": Case("POST", ORDERS, 422, "asset_id", json={"title": "x", "asset_id": 2**63}),
    "bad-email": Case(
        "POST", "/api/v1/users", 422, "email", json={"email": "nobody", "role": "admin", "password": "x" * 10}
    ),
    "nan": Case("POST", READINGS, 400, "body", data=b'{"readings": [{"meter": "hours", "value": NaN}]}', headers=JSON),
    "infinity": Case(
        "POST", READINGS, 400, "body", data=b'{"readings": [{"meter": "hours", "value": Infinity}]}', headers=JSON
    ),
    "overflowing-float": Case(
        "POST", READINGS, 400, "body", data=b'{"readings": [{"meter": "hours", "value": 1e400}]}', headers=JSON
    ),
    "naive-datetime": Case("POST", ORDERS, 422, "due_at", json={"title": "x", "due_at": "2030-01-01T00:00:00"}),
    "not-a-datetime": Case("POST", ORDERS, 422, "due_at", json={"title": "x", "due_at": "next tuesday"}),
    "year-out-of-range": Case(
        "POST", ORDERS, 422, "due_at", json={"title": "x", "due_at": "9999-12-31T23:59:59-05:00"}
    ),
    "nul-character": Case("POST", PLANTS, 422, json={"name": "bad\u0000name"}),
    "nul-character-in-query": Case("GET", ORDERS, 422, params={"q": "a\u0000b"}),
    # query strings
    "negative-limit": Case("GET", PLANTS, 422, "limit", params={"limit": "-1"}),
    "zero-limit": Case("GET", PLANTS, 422, "limit", params={"limit": "0"}),
    "limit-abc": Case("GET", PLANTS, 422, "limit", params={"limit": "abc"}),
    "limit-huge": Case("GET", PLANTS, 422, "limit", params={"limit": "100000"}),
    "garbage-cursor": Case("GET", PLANTS, 422, "cursor", params={"cursor": "garbage!!"}),
    "forged-cursor": Case("GET", ORDERS, 422, "cursor", params={"cursor": b64("id:DROP TABLE")}),
    "overlong-cursor": Case("GET", PLANTS, 422, "cursor", params={"cursor": "A" * 500}),
    "readings-garbage-cursor": Case("GET", READINGS, 422, "cursor", params={"cursor": "garbage"}),
    "unknown-query-param": Case("GET", PLANTS, 422, "colour", params={"colour": "red"}),
    "unknown-status-filter": Case("GET", ORDERS, 422, "status.1", params={"status": "open,bogus"}),
    "bad-id-filter": Case("GET", ORDERS, 422, "asset_id", params={"asset_id": "abc"}),
    "naive-since": Case("GET", READINGS, 422, "since", params={"since": "2026-01-01T00:00:00"}),
    # ids in the path
    "id-abc": Case("GET", PLANTS + "/abc", 422, "id"),
    "id-zero": Case("GET", PLANTS + "/0", 422, "id"),
    "id-negative": Case("GET", PLANTS + "/-1", 422, "id"),
    "id-huge": Case("GET", PLANTS + "/99999999999999999999", 422, "id"),
    "id-float": Case("GET", ORDERS + "/1.5", 422, "id"),
    "id-unknown": Case("GET", PLANTS + "/987654321", 404),
    "id-unknown-patch": Case("PATCH", ORDERS + "/987654321", 404, json={"title": "x"}),
    "id-of-another-tenant": Case("GET", PLANTS + "/{foreign_plant}", 404),
    # versions
    "stale-if-match": Case("PATCH", PLANTS + "/{plant}", 412, json={"code": "x"}, headers={"If-Match": '"99"'}),
    "malformed-if-match": Case(
        "PATCH", PLANTS + "/{plant}", 422, "If-Match", json={"code": "x"}, headers={"If-Match": "yesterday"}
    ),
    "overlong-if-match": Case(
        "PATCH", PLANTS + "/{plant}", 422, "If-Match", json={"code": "x"}, headers={"If-Match": '"' + "9" * 40 + '"'}
    ),
    # credentials
    "missing-authorization": Case("GET", PLANTS, 401, who="anon"),
    "basic-scheme": Case("GET", PLANTS, 401, who="raw:Basic YWRtaW46YWRtaW4="),
    "empty-bearer": Case("GET", PLANTS, 401, who="raw:Bearer "),
    "malformed-bearer": Case("GET", PLANTS, 401, who="raw:Bearer not-a-jwt"),
    "bearer-with-garbage-jwt": Case("GET", PLANTS, 401, who="raw:Bearer eyJhbGciOiJub25lIn0.e30."),
    "refresh-token-as-access": Case("GET", PLANTS, 401, who="refresh-token"),
    # routing
    "wrong-method": Case("PUT", PLANTS, 405, json={"name": "x"}),
    "wrong-method-on-item": Case("POST", PLANTS + "/{plant}", 405, json={"name": "x"}),
    "unknown-route": Case("GET", "/api/v1/no-such-thing", 404),
    "unknown-version": Case("GET", "/api/v2/plants", 404),
}


@pytest.fixture(scope="module")
async def ids(tenant: Tenant, other: Tenant) -> dict[str, int]:
    admin = tenant["admin"]
    plant = ok(await admin.post(PLANTS, {"name": unique("plant")}), 201)
    asset = ok(
        await admin.post("/api/v1/assets", {"name": "Pump", "plant_id": plant["id"], "meters": [{"name": "hours"}]}),
        201,
    )
    order = ok(await admin.post(ORDERS, {"title": "target"}), 201)
    foreign = ok(await other["admin"].post(PLANTS, {"name": unique("foreign")}), 201)
    return {"plant": plant["id"], "asset": asset["id"], "order": order["id"], "foreign_plant": foreign["id"]}


def caller(tenant: Tenant, who: str) -> tuple[Api, dict[str, str]]:
    admin = tenant["admin"]
    if who == "admin":
        return admin, {}
    if who == "anon":
        return admin.with_token(None), {}
    if who == "refresh-token":
        return admin.with_token(admin.refresh_token), {}
    assert who.startswith("raw:")
    return admin.with_token(None), {"Authorization": who.removeprefix("raw:")}


def test_there_are_at_least_twenty_kinds() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_input_is_a_problem(tenant: Tenant, ids: dict[str, int], name: str) -> None:
    case = CASES[name]
    api, auth = caller(tenant, case.who)
    reply = await api.request(
        case.method,
        case.path.format(**ids),
        json=case.json,
        data=case.data,
        headers={**case.headers, **auth},
        params=case.params,
    )
    body = assert_problem(reply, case.status, case.field)
    assert body.get("request_id") == reply.headers["X-Request-Id"]
    if case.status == 401:
        assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
    if case.status == 405:
        assert reply.headers.get("Allow")


async def test_validation_errors_name_every_bad_field(tenant: Tenant) -> None:
    body = {"title": "", "priority": "urgent", "type": 7, "asset_id": 0, "colour": "red"}
    problem = assert_problem(await tenant["admin"].post(ORDERS, body), 422)
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"title", "priority", "type", "asset_id", "colour"}
    assert all(e.get("message") for e in problem["errors"])


async def test_rejected_patches_write_nothing(tenant: Tenant, ids: dict[str, int]) -> None:
    admin = tenant["admin"]
    bad_patches = {
        f"{PLANTS}/{ids['plant']}": [{"code": "half", "timezone": 5}, {"code": "half", "name": ""}],
        f"{ORDERS}/{ids['order']}": [
            {"title": "half", "priority": "urgent"},
            {"title": "half", "asset_id": 999_999_999},
            {"title": "half", "assignee_id": tenant["requester"].user_id},
            {"title": "half", "due_at": "2030-01-01T00:00:00"},
        ],
        f"/api/v1/assets/{ids['asset']}": [
            {"name": "half", "parent_id": ids["asset"]},
            {"name": "half", "criticality": "bogus"},
            {"name": "half", "meters": [{"name": "t", "min": 5, "max": 1}]},
        ],
    }
    for url, patches in bad_patches.items():
        before = ok(await admin.get(url))
        for patch in patches:
            reply = await admin.patch(url, patch)
            assert 400 <= reply.status < 500, (url, patch, reply)
            assert_problem(reply, reply.status)
            assert ok(await admin.get(url)) == before, (url, patch)


async def test_request_id_is_echoed_on_success_and_error(tenant: Tenant) -> None:
    good = await tenant["admin"].get(PLANTS, headers={"X-Request-Id": "trace-42"})
    assert good.headers["X-Request-Id"] == "trace-42"
    bad = await tenant["admin"].get(PLANTS + "/0", headers={"X-Request-Id": "trace-43"})
    assert assert_problem(bad, 422)["request_id"] == "trace-43"
