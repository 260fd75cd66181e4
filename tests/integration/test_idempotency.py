"""Idempotency-Key on POST: a retry gets the first answer and creates nothing; another body with
the same key is 422; concurrent requests with one key create one thing; keys are per tenant."""

from __future__ import annotations

import asyncio
import uuid

from cmms.api import openapi
from cmms.api.routes import ALL_TABLES
from tests.integration.support import Tenant, assert_problem, ok


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"erp-{uuid.uuid4()}"}


async def _orders_titled(tenant: Tenant, title: str) -> int:
    rows = await tenant.sql("SELECT count(*) AS n FROM work_orders WHERE title = %s", (title,))
    return int(rows[0]["n"])


async def test_a_retry_gets_the_first_answer_and_creates_nothing(tenant: Tenant) -> None:
    key, title = _key(), f"Mirrored {uuid.uuid4().hex[:6]}"
    first = await tenant["manager"].post("/api/v1/orders", {"title": title}, headers=key)
    again = await tenant["manager"].post("/api/v1/orders", {"title": title}, headers=key)
    assert first.status == again.status == 201
    assert first.json == again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _orders_titled(tenant, title) == 1


async def test_the_same_key_with_another_body_is_refused(tenant: Tenant) -> None:
    key = _key()
    ok(await tenant["manager"].post("/api/v1/orders", {"title": "One"}, headers=key), 201)
    reply = await tenant["manager"].post("/api/v1/orders", {"title": "Two"}, headers=key)
    assert_problem(reply, 422, "Idempotency-Key")


async def test_concurrent_requests_with_one_key_create_one_thing(tenant: Tenant) -> None:
    key, title = _key(), f"Raced {uuid.uuid4().hex[:6]}"
    replies = await asyncio.gather(
        *(tenant["manager"].post("/api/v1/orders", {"title": title}, headers=key) for _ in range(10))
    )
    assert {r.status for r in replies} == {201}
    assert len({r.json["id"] for r in replies}) == 1
    assert await _orders_titled(tenant, title) == 1


async def test_a_refused_request_does_not_keep_its_key(tenant: Tenant) -> None:
    key = _key()
    assert_problem(await tenant["manager"].post("/api/v1/orders", {"title": ""}, headers=key), 422, "title")
    ok(await tenant["manager"].post("/api/v1/orders", {"title": "Fixed"}, headers=key), 201)


async def test_keys_are_per_tenant(tenant: Tenant, other: Tenant) -> None:
    key, title = _key(), f"Shared key {uuid.uuid4().hex[:6]}"
    mine = ok(await tenant["manager"].post("/api/v1/orders", {"title": title}, headers=key), 201)
    theirs = ok(await other["admin"].post("/api/v1/orders", {"title": title}, headers=key), 201)
    assert mine["id"] != theirs["id"] and theirs["tenant_id"] == other.id


async def test_bad_keys_name_the_header(tenant: Tenant) -> None:
    for bad in ("x" * 256, "tab\there"):
        reply = await tenant["manager"].post("/api/v1/orders", {"title": "No"}, headers={"Idempotency-Key": bad})
        assert_problem(reply, 422, "Idempotency-Key")


def test_the_document_offers_the_key_on_every_authenticated_post() -> None:
    document = openapi.build(ALL_TABLES)
    for table in ALL_TABLES:
        for route in table.routes:
            if route.method == "POST" and not route.public:
                params = document["paths"][route.path]["post"].get("parameters", [])
                assert {"$ref": "#/components/parameters/IdempotencyKey"} in params, route.path


async def test_a_secret_shown_once_is_not_kept_for_replay(tenant: Tenant) -> None:
    key, body = _key(), {"name": "erp", "role": "technician"}
    first = ok(await tenant["admin"].post("/api/v1/api-keys", body, headers=key), 201)
    again = ok(await tenant["admin"].post("/api/v1/api-keys", body, headers=key), 201)
    assert first["secret"] and again["secret"] is None and again["id"] == first["id"]
    rows = await tenant.sql("SELECT body FROM idempotency_keys WHERE key = %s", (key["Idempotency-Key"],))
    assert first["secret"].encode() not in bytes(rows[0]["body"])
