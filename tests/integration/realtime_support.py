"""Helpers for the real-time tests: throw-away databases, free ports, a recording Socket.IO client.

Everything here talks to real servers: PostgreSQL (CMMS_TEST_DATABASE_URL, an admin DSN), Redis
and the daemon over TCP. Redis pub/sub is global across database numbers and the Socket.IO
channels are fixed, so two test runs sharing one Redis see each other's broadcasts. Rooms are
named after tenant and user ids; every database made here therefore starts its tenant and user
ids at a random large offset, which keeps the rooms (and the `cmms:revoked:user:<id>` keys) of
concurrent runs apart. Assertions still only look at the test's own tenant.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import aiopg
import psycopg2
import socketio
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from tests.integration.support import Api

ADMIN_DSN = os.environ.get("CMMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("CMMS_TEST_REDIS_BASE", "redis://127.0.0.1:6379")
JWT_SECRET = "realtime-test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
RELAY_LOCK = 0x52454C4159  # cmms.db.notify.RELAY_LOCK: pg_locks shows it as classid (high) / objid (low)


def redis_url(db: int) -> str:
    """A Redis database of its own (keys apart; pub/sub is shared: see the module docstring)."""
    return f"{REDIS_BASE}/{db}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    return conn


def create_database(prefix: str = "cmms_rt") -> tuple[str, str]:
    """A fresh, empty database; returns (name, superuser DSN)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return name, make_dsn(ADMIN_DSN, dbname=name)


def drop_database(name: str) -> None:
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


async def superuser_sql(dsn: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run one statement as the connecting superuser (no SET ROLE: row-level security is bypassed)."""
    async with aiopg.connect(dsn, timeout=120.0) as conn:  # bulk set-up statements on a busy machine
        async with conn.cursor() as cur:
            await cur.execute(query, params)
            return list(await cur.fetchall()) if cur.description else []


async def spread_ids(dsn: str) -> None:
    """Start tenant and user ids at a random offset (after migrations), so rooms of concurrent runs differ."""
    base = random.randrange(10**9, 10**12, 10**6)
    await superuser_sql(
        dsn,
        "SELECT setval('tenants_id_seq', %s), setval('users_id_seq', %s), setval('work_orders_id_seq', %s)",
        (base, base, base),
    )


async def relay_backend_port(dsn: str) -> int | None:
    """The client port of the database connection holding the outbox relay's leadership lock."""
    rows = await superuser_sql(
        dsn,
        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (RELAY_LOCK >> 32, RELAY_LOCK & 0xFFFFFFFF),
    )
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def http(base_url: str) -> aiohttp.ClientSession:
    """A session with relative paths, usable as the `client` of tests.integration.support.Api."""
    return aiohttp.ClientSession(base_url=base_url, timeout=aiohttp.ClientTimeout(total=30))


async def wait_until(predicate: Callable[[], bool], within: float, interval: float = 0.02) -> bool:
    """Poll `predicate` until it holds (True) or `within` seconds have passed (False)."""
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


@dataclass
class Received:
    event: str
    payload: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def seq(self) -> int | None:
        return self.payload.get("seq") if isinstance(self.payload, dict) else None

    @property
    def tenant_id(self) -> int | None:
        return self.payload.get("tenant_id") if isinstance(self.payload, dict) else None

    @property
    def data(self) -> dict[str, Any]:
        data = self.payload.get("data") if isinstance(self.payload, dict) else None
        return data if isinstance(data, dict) else {}


class LiveClient:
    """python-socketio's AsyncClient over a websocket, recording everything the server sends."""

    def __init__(self, url: str, token: str | None, *, auth: Any = None) -> None:
        self.url = url
        self.auth = auth if auth is not None else ({"token": token} if token is not None else None)
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[Received] = []
        self.connect_errors: list[Any] = []
        self.disconnects: list[Any] = []
        self.disconnected = asyncio.Event()
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("*", self._on_any)

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    async def _on_disconnect(self, *reason: Any) -> None:
        self.disconnects.append(reason[0] if reason else None)
        self.disconnected.set()

    async def _on_any(self, event: str, *args: Any) -> None:
        self.received.append(Received(event, args[0] if len(args) == 1 else list(args)))

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    async def connect(self) -> LiveClient:
        await self.sio.connect(
            self.url, transports=["websocket"], auth=self.auth, socketio_path="socket.io", wait_timeout=10
        )
        return self

    async def refusal(self) -> str:
        """Connect expecting a refusal; return the reason the server gave in `connect_error`."""
        try:
            await self.connect()
        except socketio.exceptions.ConnectionError:
            pass
        else:
            await self.close()
            raise AssertionError(f"the server accepted a connection with auth={self.auth!r}")
        assert self.connect_errors, "refused without a connect_error event"
        reason = self.connect_errors[-1]
        assert isinstance(reason, dict) and isinstance(reason.get("message"), str), reason
        return str(reason["message"])

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.sio.shutdown()  # stops a pending reconnection too

    def of_tenant(self, tenant_id: int) -> list[Received]:
        return [r for r in self.received if r.tenant_id == tenant_id]

    def seqs(self, tenant_id: int, types: Iterable[str] | None = None) -> list[int]:
        wanted = set(types) if types is not None else None
        return [
            int(r.seq) for r in self.of_tenant(tenant_id) if r.seq is not None and (wanted is None or r.event in wanted)
        ]

    def find(self, tenant_id: int, event: str, order_id: int) -> list[Received]:
        return [r for r in self.of_tenant(tenant_id) if r.event == event and r.data.get("id") == order_id]

    async def wait_for(self, predicate: Callable[[LiveClient], bool], within: float = 5.0) -> bool:
        return await wait_until(lambda: predicate(self), within)


async def replay_all(api: Api, after: int) -> list[dict[str, Any]]:
    """Every visible event after `after` through GET /api/v1/events, following the pages."""
    items: list[dict[str, Any]] = []
    while True:
        reply = await api.get("/api/v1/events", params={"after": after, "limit": 1000})
        assert reply.status == 200, reply
        page = reply.json
        items.extend(page["items"])
        if not page["next_cursor"] or not page["items"]:
            return items
        after = int(page["items"][-1]["seq"])


async def create_order(api: Api, title: str, **fields: Any) -> dict[str, Any]:
    reply = await api.post("/api/v1/orders", {"title": title, **fields})
    assert reply.status == 201, reply
    return dict(reply.json)
