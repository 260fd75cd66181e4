"""Login, throttling, refresh-token rotation and reuse detection, logout and revocation."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from aiohttp.test_utils import TestClient, TestServer

from cmms.api.app import make_app
from cmms.cache.throttle import LoginThrottle
from cmms.runtime import Runtime
from tests.integration.support import PASSWORD, Api, Tenant, assert_problem, login, ok


async def _fresh_user(tenant: Tenant, key: str, role: str = "technician") -> Api:
    return await tenant.add_user(f"{key}-{time.monotonic_ns()}", role)


async def test_login_returns_a_token_pair_and_the_user(tenant: Tenant, anon: Api) -> None:
    user = tenant.users["technician"]
    reply = await anon.post("/api/v1/auth/login", {"tenant": tenant.name, "email": user["email"], "password": PASSWORD})
    body = ok(reply)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"].count(".") == 2  # a JWT
    assert body["refresh_token"].startswith(f"{tenant.id}.")
    assert body["user"]["id"] == user["id"]
    assert body["user"]["role"] == "technician"
    assert "password_hash" not in body["user"]

    me = ok(await anon.with_token(body["access_token"]).get("/api/v1/me"))
    assert me["user"]["id"] == user["id"]
    assert me["user"]["email"] == user["email"]
    assert me["role"] == "technician"
    assert me["tenant"]["id"] == tenant.id
    assert me["tenant"]["name"] == tenant.name


async def test_login_email_and_tenant_are_case_insensitive(tenant: Tenant, anon: Api) -> None:
    user = tenant.users["requester"]
    reply = await anon.post(
        "/api/v1/auth/login",
        {"tenant": tenant.name.upper(), "email": user["email"].upper(), "password": PASSWORD},
    )
    assert ok(reply)["user"]["id"] == user["id"]


async def test_wrong_password_is_401_problem(tenant: Tenant, anon: Api) -> None:
    user = tenant.users["manager"]
    reply = await anon.post(
        "/api/v1/auth/login", {"tenant": tenant.name, "email": user["email"], "password": "not-the-password"}
    )
    body = assert_problem(reply, 401)
    assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
    # The same answer for an unknown email and an unknown tenant: no account enumeration.
    unknown_email = await anon.post(
        "/api/v1/auth/login", {"tenant": tenant.name, "email": "nobody@example.com", "password": PASSWORD}
    )
    unknown_tenant = await anon.post(
        "/api/v1/auth/login", {"tenant": "no-such-tenant-x", "email": user["email"], "password": PASSWORD}
    )
    assert assert_problem(unknown_email, 401)["detail"] == body["detail"]
    assert assert_problem(unknown_tenant, 401)["detail"] == body["detail"]


async def test_sixth_failed_login_for_one_account_is_429_with_retry_after(tenant: Tenant, anon: Api) -> None:
    victim = await _fresh_user(tenant, "throttled")
    bystander = await _fresh_user(tenant, "bystander")
    creds = {"tenant": tenant.name, "email": victim.user["email"], "password": "wrong-password"}
    for _ in range(5):
        assert_problem(await anon.post("/api/v1/auth/login", creds), 401)
    reply = await anon.post("/api/v1/auth/login", creds)
    assert_problem(reply, 429)
    retry_after = int(reply.headers["Retry-After"])
    assert 0 < retry_after <= 900
    # Locked: even the right password is refused until the window passes.
    assert_problem(await anon.post("/api/v1/auth/login", {**creds, "password": PASSWORD}), 429)
    # Another account is not affected.
    await login(anon.client, tenant.name, bystander.user["email"])


async def test_failed_logins_per_address_are_limited(rt: Runtime, tenant: Tenant) -> None:
    """Many accounts tried from one address: the per-address limit answers 429 (its own app, limit 3)."""
    throttle = LoginThrottle(rt.deps.redis, per_account=100, per_address=3, window=60)
    app = make_app(dataclasses.replace(rt.deps, throttle=throttle), rt.readiness)
    address_key = "cmms:login-fail:addr:127.0.0.1"  # shared with the suite's app, whose limit is high
    await rt.deps.redis.delete(address_key)
    async with TestClient(TestServer(app)) as client:
        anon = Api(client)
        try:
            for i in range(3):
                creds = {"tenant": tenant.name, "email": f"spray{i}@example.com", "password": "x"}
                assert_problem(await anon.post("/api/v1/auth/login", creds), 401)
            creds = {"tenant": tenant.name, "email": "spray-last@example.com", "password": "x"}
            reply = await anon.post("/api/v1/auth/login", creds)
            assert_problem(reply, 429)
            assert int(reply.headers["Retry-After"]) > 0
        finally:
            await rt.deps.redis.delete(address_key)


async def test_refresh_rotates_the_pair(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "rotate")
    reply = await anon.post("/api/v1/auth/refresh", {"refresh_token": api.refresh_token})
    body = ok(reply)
    assert body["refresh_token"] != api.refresh_token
    assert body["access_token"] != api.token
    assert body["user"]["id"] == api.user_id
    assert ok(await anon.with_token(body["access_token"]).get("/api/v1/me"))["user"]["id"] == api.user_id
    # The new refresh token rotates in turn.
    ok(await anon.post("/api/v1/auth/refresh", {"refresh_token": body["refresh_token"]}))


async def test_reusing_a_rotated_refresh_token_revokes_the_family(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "reuse")
    first = api.refresh_token
    second = ok(await anon.post("/api/v1/auth/refresh", {"refresh_token": first}))
    assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": first}), 401)
    # The thief or the owner: whoever holds the newer token of the family is refused too...
    assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]}), 401)
    # ...and so are the access tokens of the session.
    assert_problem(await anon.with_token(second["access_token"]).get("/api/v1/me"), 401)
    assert_problem(await api.get("/api/v1/me"), 401)
    # A new login starts a new family that works.
    fresh = await login(anon.client, tenant.name, api.user["email"])
    ok(await fresh.get("/api/v1/me"))


async def test_refresh_with_garbage_tokens_is_401(anon: Api) -> None:
    for token in ("1.not-a-real-token-at-all", "abc.def-ghi-jkl", "99999.xxxxxxxxxxxx"):
        assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": token}), 401)


async def test_logout_revokes_access_and_refresh_tokens(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "logout")
    other_session = await login(anon.client, tenant.name, api.user["email"])
    assert ok(await api.post("/api/v1/auth/logout"), 204) is None
    assert_problem(await api.get("/api/v1/me"), 401)
    assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": api.refresh_token}), 401)
    # Only that session ended: the user's other login still works.
    ok(await other_session.get("/api/v1/me"))
    ok(await anon.post("/api/v1/auth/refresh", {"refresh_token": other_session.refresh_token}))


async def test_logout_accepts_a_body_naming_the_refresh_token(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "logout-body")
    ok(await api.post("/api/v1/auth/logout", {"refresh_token": api.refresh_token}), 204)
    assert_problem(await api.get("/api/v1/me"), 401)


async def test_logout_needs_a_token(anon: Api) -> None:
    assert_problem(await anon.post("/api/v1/auth/logout"), 401)


async def test_deactivating_a_user_refuses_their_tokens(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "deactivated")
    ok(await api.get("/api/v1/me"))
    user = ok(await tenant["admin"].patch(f"/api/v1/users/{api.user_id}", {"active": False}))
    assert user["active"] is False
    assert_problem(await api.get("/api/v1/me"), 401)
    assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": api.refresh_token}), 401)
    reply = await anon.post(
        "/api/v1/auth/login", {"tenant": tenant.name, "email": api.user["email"], "password": PASSWORD}
    )
    assert_problem(reply, 401)


async def test_changing_a_role_ends_the_users_sessions(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "promoted", "requester")
    user = ok(await tenant["admin"].patch(f"/api/v1/users/{api.user_id}", {"role": "technician"}))
    assert user["role"] == "technician"
    assert_problem(await api.get("/api/v1/me"), 401)
    assert_problem(await anon.post("/api/v1/auth/refresh", {"refresh_token": api.refresh_token}), 401)


async def _start_of_a_second() -> None:
    await asyncio.sleep(1 - (time.time() % 1) + 0.01)


async def test_a_login_right_after_a_revocation_is_valid(tenant: Tenant, anon: Api) -> None:
    """Revoking a user's tokens must not refuse the token of a login that happens after it.

    Sessions are ended by a role change; the user then logs in again at once (same second).
    """
    api = await _fresh_user(tenant, "relogin", "requester")
    await _start_of_a_second()
    ok(await tenant["admin"].patch(f"/api/v1/users/{api.user_id}", {"role": "technician"}))
    fresh = await login(anon.client, tenant.name, api.user["email"])
    me = await fresh.get("/api/v1/me")
    assert ok(me)["role"] == "technician"


async def test_a_password_change_by_the_admin_lets_the_new_password_in(tenant: Tenant, anon: Api) -> None:
    api = await _fresh_user(tenant, "newpass")
    ok(await tenant["admin"].patch(f"/api/v1/users/{api.user_id}", {"password": "a-brand-new-password"}))
    assert_problem(await api.get("/api/v1/me"), 401)
    reply = await anon.post(
        "/api/v1/auth/login", {"tenant": tenant.name, "email": api.user["email"], "password": PASSWORD}
    )
    assert_problem(reply, 401)
    await login(anon.client, tenant.name, api.user["email"], "a-brand-new-password")
