"""Helpers for the integration tests: a small API client over aiohttp's TestClient, tenants, users."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from cmms.db.pool import fetchall, transaction
from cmms.domain.model import UserIn
from cmms.domain.roles import Actor, Role
from cmms.runtime import Runtime
from cmms.services import tenants, users

PASSWORD = "correct-horse-battery-staple"
ROLES = [r.value for r in Role]
PROBLEM = "application/problem+json"
NO_BODY: Any = object()  # `json=` default: send no body at all (json=None sends JSON null)


@dataclass
class Reply:
    status: int
    headers: CIMultiDict[str]
    text: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    @property
    def json(self) -> Any:
        return orjson.loads(self.text)

    def __repr__(self) -> str:  # what a failed assertion shows
        return f"<Reply {self.status} {self.content_type} {self.text[:600]!r}>"


class Api:
    """One caller of the API: an optional bearer token over the session's TestClient."""

    def __init__(
        self,
        client: TestClient,
        token: str | None = None,
        *,
        refresh_token: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self.token = token
        self.refresh_token = refresh_token
        self.user = user or {}

    @property
    def user_id(self) -> int:
        return int(self.user["id"])

    def with_token(self, token: str | None) -> Api:
        return Api(self.client, token, user=self.user)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = NO_BODY,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        hdrs: dict[str, str] = {}
        if self.token is not None:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if json is not NO_BODY:
            data = orjson.dumps(json)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        query = {k: str(v) for k, v in (params or {}).items()}
        async with self.client.request(method, path, data=data, headers=hdrs, params=query) as resp:
            body = await resp.read()
            return Reply(resp.status, CIMultiDict(resp.headers), body.decode("utf-8", "replace"))

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = NO_BODY, **kw: Any) -> Reply:
        return await self.request("POST", path, json=json, **kw)

    async def patch(self, path: str, json: Any = NO_BODY, **kw: Any) -> Reply:
        return await self.request("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> Reply:
        return await self.request("DELETE", path, **kw)


def ok(reply: Reply, status: int = 200) -> Any:
    """Assert a success status and return the JSON body (None for 204)."""
    assert reply.status == status, reply
    if status == 204:
        return None
    assert reply.content_type == "application/json", reply
    return reply.json


def assert_problem(reply: Reply, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document with this status (and, for validation errors, the field named)."""
    assert reply.status == status, reply
    assert reply.content_type == PROBLEM, reply
    body = reply.json
    assert isinstance(body, dict), reply
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem without {key}: {reply}"
    assert body["status"] == status, reply
    assert isinstance(body["type"], str) and body["type"], reply
    assert isinstance(body["title"], str) and body["title"], reply
    assert isinstance(body["detail"], str) and body["detail"], reply
    if field is not None:
        fields = [e.get("field") for e in body.get("errors") or []]
        assert field in fields, f"errors[].field should name {field!r}: {reply}"
    return body


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def login(client: TestClient, tenant: str, email: str, password: str = PASSWORD) -> Api:
    reply = await Api(client).post("/api/v1/auth/login", {"tenant": tenant, "email": email, "password": password})
    body = ok(reply)
    return Api(client, body["access_token"], refresh_token=body["refresh_token"], user=body["user"])


@dataclass
class Tenant:
    """A tenant with users (by key, e.g. "admin", "technician2") and their logged-in clients."""

    rt: Runtime
    client: TestClient
    id: int
    name: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    apis: dict[str, Api] = field(default_factory=dict)
    things: dict[str, Any] = field(default_factory=dict)  # resources a module's fixture made

    def __getitem__(self, key: str) -> Api:
        return self.apis[key]

    @property
    def operator(self) -> Actor:
        return Actor(self.id, None, Role.ADMIN)

    async def add_user(self, key: str, role: str | Role, *, log_in: bool = True) -> Api:
        email = f"{key}-{uuid.uuid4().hex[:8]}@example.com"
        user = await users.create(
            self.rt.deps, self.operator, UserIn(email=email, name=key, role=Role(role), password=PASSWORD)
        )
        self.users[key] = user
        api = await login(self.client, self.name, email) if log_in else Api(self.client, user=user)
        self.apis[key] = api
        return api

    async def sql(self, query: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run SQL as the application role inside this tenant's RLS scope."""
        async with transaction(self.rt.deps.pool, self.id) as cur:
            return await fetchall(cur, query, params)


async def make_tenant(rt: Runtime, client: TestClient, roles: dict[str, str] | None = None) -> Tenant:
    """A fresh tenant (unique name) with one logged-in user per role unless `roles` says otherwise."""
    name = unique("t")
    row = await tenants.create(rt.deps, name)
    tenant = Tenant(rt, client, int(row["id"]), row["name"])
    wanted = roles if roles is not None else {r: r for r in ROLES}
    await asyncio.gather(*(tenant.add_user(key, role) for key, role in wanted.items()))
    return tenant
