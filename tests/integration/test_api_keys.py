"""API keys: created by supervisors with a role no higher than theirs, shown once, used as a
bearer everywhere a user token works (not on Socket.IO), revoked at once on every node, named in
the audit trail, throttled when an address floods bad keys."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
import socketio
from aiohttp.test_utils import TestClient, TestServer

from cmms.api.app import make_app
from cmms.cache.revoked import RedisRevocations
from cmms.runtime import Runtime
from cmms.services import api_keys as api_keys_service
from cmms.services.key_cache import KeyCache
from cmms.services.revocations import Revocations
from tests.integration.support import Api, Tenant, assert_problem, ok

ADDRESS_KEY = "cmms:login-fail:acct:~api-key:127.0.0.1"  # the bad-key counter of the suite's address


async def _key(api: Api, role: str = "technician", **extra: object) -> dict[str, object]:
    return ok(await api.post("/api/v1/api-keys", {"name": f"sensor-{role}", "role": role, **extra}), 201)


async def test_a_key_is_shown_once_and_works_like_a_token(tenant: Tenant) -> None:
    created = await _key(tenant["admin"], "manager")
    secret = str(created["secret"])
    assert secret.startswith(f"cmms_{tenant.id}_") and len(secret) >= 48
    listed = ok(await tenant["admin"].get("/api/v1/api-keys"))["items"]
    assert all("secret" not in k and "secret_hash" not in k for k in listed)
    assert "secret" not in ok(await tenant["admin"].get(f"/api/v1/api-keys/{created['id']}"))
    machine = tenant["admin"].with_token(secret)
    assert ok(await machine.get("/api/v1/me"))["role"] == "admin"  # the creator, seen through the key
    order = ok(await machine.post("/api/v1/orders", {"title": "Reported by a sensor"}), 201)
    audit = ok(await tenant["admin"].get("/api/v1/audit", params={"entity": "order", "entity_id": order["id"]}))
    assert audit["items"][0]["api_key_id"] == created["id"]
    assert audit["items"][0]["actor_id"] == tenant.users["admin"]["id"]


async def test_the_key_role_limits_what_it_may_do(tenant: Tenant) -> None:
    secret = str((await _key(tenant["admin"], "requester"))["secret"])
    machine = tenant["admin"].with_token(secret)
    assert_problem(await machine.get("/api/v1/audit"), 403)
    assert_problem(await machine.post("/api/v1/api-keys", {"name": "x", "role": "requester"}), 403)
    assert_problem(await machine.post("/api/v1/auth/logout"), 403)


async def test_who_may_create_which_key(tenant: Tenant) -> None:
    assert_problem(await tenant["manager"].post("/api/v1/api-keys", {"name": "x", "role": "admin"}), 403, "role")
    assert_problem(await tenant["technician"].post("/api/v1/api-keys", {"name": "x", "role": "technician"}), 403)
    assert_problem(await tenant["requester"].get("/api/v1/api-keys"), 403)
    ok(await tenant["manager"].post("/api/v1/api-keys", {"name": "x", "role": "manager"}), 201)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "role": "technician", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "role": "overlord"}, "role"),
        ({"name": "", "role": "technician"}, "name"),
        ({"role": "technician"}, "name"),
        ({"name": "x", "role": "technician", "secret": "mine"}, "secret"),
    ],
)
async def test_bad_key_requests_name_the_field(tenant: Tenant, body: dict[str, object], field: str) -> None:
    before = len(ok(await tenant["admin"].get("/api/v1/api-keys"))["items"])
    assert_problem(await tenant["admin"].post("/api/v1/api-keys", body), 422, field)
    assert len(ok(await tenant["admin"].get("/api/v1/api-keys"))["items"]) == before


async def test_revoked_and_expired_keys_say_why(tenant: Tenant) -> None:
    created = await _key(tenant["admin"])
    machine = tenant["admin"].with_token(str(created["secret"]))
    ok(await machine.get("/api/v1/orders"))
    ok(await tenant["admin"].delete(f"/api/v1/api-keys/{created['id']}"), 204)
    assert "revoked" in assert_problem(await machine.get("/api/v1/orders"), 401)["detail"]
    assert_problem(await tenant["admin"].delete(f"/api/v1/api-keys/{created['id']}"), 409)
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    expiring = await _key(tenant["admin"], expires_at=soon)
    past = "UPDATE api_keys SET expires_at = now() - interval '1 s' WHERE id = %s RETURNING id"
    await tenant.sql(past, (expiring["id"],))
    tenant.rt.deps.api_keys.forget(int(expiring["id"]))  # as after the key cache's 30 s
    late = tenant["admin"].with_token(str(expiring["secret"]))
    assert "expired" in assert_problem(await late.get("/api/v1/orders"), 401)["detail"]


@pytest.fixture
async def node_b(rt: Runtime) -> AsyncIterator[TestClient]:
    """A second node: its own process state (key cache, revocation copy), the same servers."""
    redis = aioredis.Redis.from_url(rt.redis_url, decode_responses=True)
    deps = dataclasses.replace(
        rt.deps, api_keys=KeyCache(), revocations=Revocations(rt.deps.pool, RedisRevocations(redis), 900)
    )
    client = TestClient(TestServer(make_app(deps, rt.readiness)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await redis.aclose()


async def test_a_key_revoked_on_one_node_is_refused_on_another_at_once(tenant: Tenant, node_b: TestClient) -> None:
    created = await _key(tenant["admin"])
    on_b = Api(node_b, str(created["secret"]))
    for _ in range(3):
        ok(await on_b.get("/api/v1/orders"))  # verified and cached on node B
    ok(await tenant["admin"].delete(f"/api/v1/api-keys/{created['id']}"), 204)  # on node A
    assert "revoked" in assert_problem(await on_b.get("/api/v1/orders"), 401)["detail"]


async def test_last_use_is_recorded_in_batches(tenant: Tenant) -> None:
    created = await _key(tenant["admin"])
    machine = tenant["admin"].with_token(str(created["secret"]))
    for _ in range(5):
        ok(await machine.get("/api/v1/me"))
    assert ok(await tenant["admin"].get(f"/api/v1/api-keys/{created['id']}"))["last_used_at"] is None
    await api_keys_service.record_usage(tenant.rt.deps)
    assert ok(await tenant["admin"].get(f"/api/v1/api-keys/{created['id']}"))["last_used_at"] is not None


async def test_a_flood_of_bad_keys_from_one_address_is_throttled(tenant: Tenant, rt: Runtime) -> None:
    anonymous = tenant["admin"].with_token(None)
    try:
        statuses = [
            (await anonymous.with_token(f"cmms_{tenant.id}_{'x' * 40}{i}").get("/api/v1/me")).status for i in range(8)
        ]
        assert statuses[:5] == [401] * 5
        assert statuses[-1] == 429
    finally:
        await rt.deps.redis.delete(ADDRESS_KEY)


async def test_socket_io_refuses_api_keys(tenant: Tenant, client: TestClient) -> None:
    secret = str((await _key(tenant["admin"]))["secret"])
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(str(client.make_url("/")), transports=["websocket"], auth={"token": secret}, wait_timeout=5)
    await sio.disconnect()


async def test_keys_of_another_tenant_are_not_found(tenant: Tenant, other: Tenant) -> None:
    created = await _key(tenant["admin"])
    assert_problem(await other["admin"].get(f"/api/v1/api-keys/{created['id']}"), 404)
    assert_problem(await other["admin"].delete(f"/api/v1/api-keys/{created['id']}"), 404)
    forged = f"cmms_{other.id}_" + str(created["secret"]).split("_", 2)[2]
    assert_problem(await other["admin"].with_token(forged).get("/api/v1/me"), 401)
