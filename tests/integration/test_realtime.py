"""Live events end to end: the whole daemon app (HTTP + Socket.IO + outbox relay) on a real port.

The server is `cmms.server.running` over `open_runtime` on a fresh PostgreSQL database and a Redis
database of its own; clients are python-socketio's `AsyncClient` and the official JavaScript
client (socket.io-client 4.8, installed with npm into tests/js), both over a websocket. Nothing is
mocked: events travel outbox → relay → Redis pub/sub → socket, and replay reads the outbox.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import socketio

from cmms.config import Settings, load_settings
from cmms.runtime import Runtime, open_runtime
from cmms.server import running
from tests.integration.realtime_support import (
    JWT_SECRET,
    LiveClient,
    create_database,
    create_order,
    drop_database,
    free_port,
    http,
    redis_url,
    replay_all,
    spread_ids,
    superuser_sql,
)
from tests.integration.support import Api, Tenant, assert_problem, login, make_tenant, ok, unique

REDIS_DB = 12  # this module's keys; pub/sub is shared anyway (see realtime_support)
JS_DIR = Path(__file__).resolve().parents[1] / "js"
DELIVERY = 5.0  # seconds an event may take from commit to socket on a loaded CI machine
QUIET = 0.5  # how long we listen for something that must not arrive


@dataclass
class Live:
    rt: Runtime
    settings: Settings
    dsn: str
    url: str
    session: aiohttp.ClientSession

    async def tenant(self, roles: dict[str, str] | None = None) -> Tenant:
        return await make_tenant(self.rt, self.session, roles)  # type: ignore[arg-type]

    def anon(self) -> Api:
        return Api(self.session)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    name, dsn = create_database()
    try:
        settings = load_settings(
            env={},
            database_url=dsn,
            redis_url=redis_url(REDIS_DB),
            data_dir=str(tmp_path_factory.mktemp("cmms-realtime")),
            jwt_secret=JWT_SECRET,
            database_pool_min=1,
            auth_max_failures_address=10_000,
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        async with open_runtime(settings) as rt:
            await spread_ids(dsn)
            async with running(rt, "127.0.0.1", port), http(url) as session:
                yield Live(rt, settings, dsn, url, session)
    finally:
        drop_database(name)


@pytest.fixture(scope="module")
async def org(live: Live) -> Tenant:
    """The module's main tenant: one logged-in user per role."""
    return await live.tenant()


@pytest.fixture(scope="module")
async def org2(live: Live) -> Tenant:
    """Another tenant, for isolation."""
    return await live.tenant({"admin": "admin", "manager": "manager", "technician": "technician"})


Connect = Callable[..., Awaitable[LiveClient]]


@pytest.fixture
async def sockets(live: Live) -> AsyncIterator[Connect]:
    """`await sockets(token)` → a connected LiveClient; all are closed after the test."""
    made: list[LiveClient] = []

    async def connect(token: str | None, *, expect_refusal: bool = False) -> LiveClient:
        client = LiveClient(live.url, token)
        made.append(client)
        return client if expect_refusal else await client.connect()

    yield connect
    await asyncio.gather(*(c.close() for c in made), return_exceptions=True)


def _claims(settings: Settings, tenant_id: int, user: dict[str, Any], **override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": settings.jwt.issuer,
        "aud": settings.jwt.audience,
        "sub": str(user["id"]),
        "tid": tenant_id,
        "role": user["role"],
        "typ": "access",
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex[:16],
    }
    claims.update(override)
    return claims


# --- (a) authentication and the envelope -------------------------------------------------------


async def test_client_receives_order_created_with_the_envelope(live: Live, org: Tenant, sockets: Connect) -> None:
    technician = await sockets(org["technician"].token)
    title = unique("pump seal leaking")
    order = await create_order(org["manager"], title, priority="high")

    assert await technician.wait_for(lambda c: bool(c.find(org.id, "order:created", order["id"])), DELIVERY), (
        f"no order:created for order {order['id']} within {DELIVERY}s; got {technician.received!r}"
    )
    [got] = technician.find(org.id, "order:created", order["id"])
    envelope = got.payload
    assert set(envelope) == {"seq", "type", "at", "tenant_id", "data"}, envelope
    assert envelope["type"] == "order:created"
    assert envelope["tenant_id"] == org.id
    assert isinstance(envelope["seq"], int) and envelope["seq"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", envelope["at"]), envelope["at"]
    at = datetime.fromisoformat(envelope["at"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60
    data = envelope["data"]
    assert data["id"] == order["id"]
    assert data["title"] == title
    assert data["number"] == order["number"] and data["number"].startswith("WO-")
    assert data["status"] == order["status"] == "open"
    assert data["priority"] == "high"
    assert data["requested_by"] == org.users["manager"]["id"]

    # The replayed copy of the same event is the same envelope.
    [replayed] = [e for e in await replay_all(org["technician"], envelope["seq"] - 1) if e["seq"] == envelope["seq"]]
    assert replayed["type"] == envelope["type"]
    assert replayed["at"] == envelope["at"]
    assert replayed["tenant_id"] == envelope["tenant_id"]
    assert replayed["data"]["id"] == order["id"]


# --- (b) refusals ----------------------------------------------------------------------------------


async def test_connections_without_a_valid_access_token_are_refused_with_a_reason(
    live: Live, org: Tenant, sockets: Connect
) -> None:
    user = org.users["technician"]
    reasons: dict[str, str] = {}

    missing = LiveClient(live.url, None)  # no auth payload at all
    reasons["missing"] = await missing.refusal()
    empty = LiveClient(live.url, None, auth={})  # a payload without a token
    reasons["empty"] = await empty.refusal()

    forged = jwt.encode(_claims(live.settings, org.id, user), "x" * 64, algorithm="HS256")  # not our secret
    reasons["forged"] = await (await sockets(forged, expect_refusal=True)).refusal()
    unsigned = jwt.encode(_claims(live.settings, org.id, user, role="admin"), None, algorithm="none")
    reasons["unsigned"] = await (await sockets(unsigned, expect_refusal=True)).refusal()

    now = int(time.time())
    expired = jwt.encode(
        _claims(live.settings, org.id, user, iat=now - 3600, exp=now - 60), JWT_SECRET, algorithm="HS256"
    )
    reasons["expired"] = await (await sockets(expired, expect_refusal=True)).refusal()

    refresh = org["technician"].refresh_token
    assert refresh
    reasons["refresh"] = await (await sockets(refresh, expect_refusal=True)).refusal()
    refresh_jwt = jwt.encode(_claims(live.settings, org.id, user, typ="refresh"), JWT_SECRET, algorithm="HS256")
    reasons["refresh_jwt"] = await (await sockets(refresh_jwt, expect_refusal=True)).refusal()

    assert re.search(r"token", reasons["missing"], re.I) and re.search(r"requir|missing", reasons["missing"]), reasons
    assert re.search(r"token", reasons["empty"], re.I) and re.search(r"requir|missing", reasons["empty"]), reasons
    assert re.search(r"not valid|invalid", reasons["forged"], re.I), reasons
    assert re.search(r"not valid|invalid", reasons["unsigned"], re.I), reasons
    assert re.search(r"expired", reasons["expired"], re.I), reasons
    assert re.search(r"not valid|invalid|not an access token", reasons["refresh"], re.I), reasons
    assert re.search(r"not an access token", reasons["refresh_jwt"], re.I), reasons
    for client in (missing, empty):
        assert not client.connected
        await client.close()

    # The genuine token still works.
    good = await sockets(org["technician"].token)
    assert good.connected


# --- (c) tenant isolation --------------------------------------------------------------------------


async def test_another_tenants_sockets_receive_nothing(live: Live, org: Tenant, org2: Tenant, sockets: Connect) -> None:
    mine = await sockets(org["technician"].token)
    theirs = [await sockets(org2[key].token) for key in ("admin", "manager", "technician")]
    title = unique("isolation")
    order = await create_order(org["manager"], title)
    changed = ok(await org["manager"].patch(f"/api/v1/orders/{order['id']}", {"priority": "critical"}))
    assert changed["priority"] == "critical"

    assert await mine.wait_for(lambda c: bool(c.find(org.id, "order:updated", order["id"])), DELIVERY)
    await asyncio.sleep(QUIET)
    for client in theirs:
        foreign = [r for r in client.received if r.tenant_id != org2.id]
        leaked = [r for r in client.received if title in json.dumps(r.payload)]
        assert foreign == [] and leaked == [], f"tenant {org2.id} socket got: {client.received!r}"
    replay = await replay_all(org2["admin"], 0)
    assert all(e["tenant_id"] == org2.id for e in replay)
    assert not [e for e in replay if title in json.dumps(e)]


# --- (d) requesters see their own requests only ----------------------------------------------------


async def test_requester_receives_events_of_their_own_requests_only(live: Live, org: Tenant, sockets: Connect) -> None:
    requester_id = org.users["requester"]["id"]
    requester = await sockets(org["requester"].token)
    staff = await sockets(org["technician"].token)
    before = (await org["requester"].get("/api/v1/events", params={"after": 0, "limit": 1})).json["last_seq"]

    mine = await create_order(org["requester"], unique("leaking tap in my office"))
    assert mine["status"] == "requested"
    other = await create_order(org["manager"], unique("not the requester's business"))
    ok(await org["manager"].post(f"/api/v1/orders/{mine['id']}/transition", {"to": "open", "note": "approved"}))
    ok(await org["manager"].patch(f"/api/v1/orders/{other['id']}", {"priority": "low"}))

    assert await requester.wait_for(
        lambda c: bool(
            c.find(org.id, "order:created", mine["id"]) and c.find(org.id, "order:status-changed", mine["id"])
        ),
        DELIVERY,
    ), requester.received
    # Staff got everything, so all of it has been delivered by now; give stragglers a moment anyway.
    assert await staff.wait_for(lambda c: bool(c.find(org.id, "order:updated", other["id"])), DELIVERY)
    await asyncio.sleep(QUIET)

    [status] = requester.find(org.id, "order:status-changed", mine["id"])
    assert status.data["from"] == "requested" and status.data["to"] == "open"
    assert status.data["by"] == org.users["manager"]["id"]
    order_events = [r for r in requester.of_tenant(org.id) if r.event.startswith("order:")]
    assert order_events and all(r.data.get("requested_by") == requester_id for r in order_events), order_events
    assert not [r for r in requester.received if r.data.get("id") == other["id"]], requester.received
    assert [r.event for r in requester.received if r.data.get("id") == mine["id"]] == [
        "order:created",
        "order:status-changed",
    ]
    # Replay agrees with live delivery.
    replayed = await replay_all(org["requester"], before)
    assert [(e["type"], e["data"]["id"]) for e in replayed] == [
        ("order:created", mine["id"]),
        ("order:status-changed", mine["id"]),
    ]


# --- (e) replay of missed events --------------------------------------------------------------------


async def test_replay_returns_exactly_the_events_missed_while_disconnected(live: Live, sockets: Connect) -> None:
    t = await live.tenant({"manager": "manager", "technician": "technician"})
    manager = t["manager"]
    orders = [await create_order(manager, unique(f"replay {i}")) for i in range(3)]
    client = await sockets(t["technician"].token)
    warmup = await create_order(manager, unique("seen live"))
    assert await client.wait_for(lambda c: bool(c.find(t.id, "order:created", warmup["id"])), DELIVERY)
    last_seen = max(client.seqs(t.id))
    await client.close()
    assert not client.connected

    for order, priority in zip(orders, ("low", "high", "critical"), strict=True):
        ok(await manager.patch(f"/api/v1/orders/{order['id']}", {"priority": priority}))

    reply = await t["technician"].get("/api/v1/events", params={"after": last_seen})
    page = ok(reply)
    items = page["items"]
    assert [e["seq"] for e in items] == [last_seen + 1, last_seen + 2, last_seen + 3], items
    assert [e["type"] for e in items] == ["order:updated"] * 3
    assert [e["data"]["id"] for e in items] == [o["id"] for o in orders]
    assert [e["data"]["priority"] for e in items] == ["low", "high", "critical"]
    assert all("priority" in e["data"]["changed"] for e in items)
    assert all(set(e) == {"seq", "type", "at", "tenant_id", "data"} for e in items)
    assert page["last_seq"] == last_seen + 3
    assert page["next_cursor"] is None
    # Nothing after the last one.
    assert ok(await t["technician"].get("/api/v1/events", params={"after": last_seen + 3}))["items"] == []


# --- (f) past retention: 410 -------------------------------------------------------------------------


async def test_replay_from_before_retention_is_410_problem(live: Live, sockets: Connect) -> None:
    t = await live.tenant({"manager": "manager"})
    for i in range(4):
        await create_order(t["manager"], unique(f"retention {i}"))
    page = ok(await t["manager"].get("/api/v1/events", params={"after": 0}))
    seqs = [e["seq"] for e in page["items"]]
    last = page["last_seq"]
    assert seqs == list(range(1, last + 1)) and last >= 5, page
    # Retention, simulated: the superuser (no SET ROLE, so no row-level security) drops the oldest.
    await superuser_sql(live.dsn, "DELETE FROM outbox WHERE tenant_id = %s AND seq <= 3", (t.id,))

    for after in (0, 1, 2):
        body = assert_problem(await t["manager"].get("/api/v1/events", params={"after": after}), 410)
        assert re.search(r"retention|reload", body["detail"], re.I), body
    kept = ok(await t["manager"].get("/api/v1/events", params={"after": 3}))
    assert [e["seq"] for e in kept["items"]] == list(range(4, last + 1))


# --- (g) logout and deactivation close sockets -------------------------------------------------------


async def test_logout_closes_that_sessions_socket(live: Live, org: Tenant, sockets: Connect) -> None:
    key = unique("leaving")
    first = await org.add_user(key, "technician")
    second = await login(live.session, org.name, org.users[key]["email"])  # type: ignore[arg-type]
    closing = await sockets(first.token)
    staying = await sockets(second.token)

    reply = await first.post("/api/v1/auth/logout")
    assert reply.status == 204, reply
    started = time.monotonic()
    await asyncio.wait_for(closing.disconnected.wait(), 2.0)
    assert time.monotonic() - started <= 2.0
    assert not closing.connected
    await asyncio.sleep(QUIET)
    assert staying.connected and not staying.disconnected.is_set(), "logout of one session closed the other"
    reason = await (await sockets(first.token, expect_refusal=True)).refusal()
    assert re.search(r"ended|revoked|log in", reason, re.I), reason


async def test_deactivating_a_user_closes_their_sockets(live: Live, org: Tenant, sockets: Connect) -> None:
    key = unique("deactivated")
    first = await org.add_user(key, "technician")
    second = await login(live.session, org.name, org.users[key]["email"])  # type: ignore[arg-type]
    bystander = await sockets(org["technician"].token)
    victims = [await sockets(first.token), await sockets(second.token)]

    body = ok(await org["admin"].patch(f"/api/v1/users/{org.users[key]['id']}", {"active": False}))
    assert body["active"] is False
    await asyncio.wait_for(asyncio.gather(*(v.disconnected.wait() for v in victims)), 2.0)
    assert not any(v.connected for v in victims)
    assert bystander.connected
    reason = await (await sockets(first.token, expect_refusal=True)).refusal()
    assert re.search(r"ended|revoked|deactivated|log in", reason, re.I), reason


# --- (h) clients cannot change anything; a flood is cut off ----------------------------------------------


async def test_client_emits_change_nothing_and_a_flood_is_disconnected(
    live: Live, org: Tenant, sockets: Connect
) -> None:
    observer = await sockets(org["manager"].token)
    talker = await sockets(org["admin"].token)
    before = ok(await org["admin"].get("/api/v1/events", params={"after": 0, "limit": 1}))["last_seq"]
    orders_before = ok(await org["admin"].get("/api/v1/orders", params={"limit": 200}))["items"]
    marker = unique("forged-by-client")
    fake = {"seq": before + 1, "type": "order:created", "at": "2030-01-01T00:00:00Z", "tenant_id": org.id}
    await talker.sio.emit("order:created", {**fake, "data": {"id": 1, "title": marker}})
    await talker.sio.emit("order:create", {"title": marker})
    await talker.sio.emit("orders.create", {"title": marker, "priority": "critical"})
    await talker.sio.emit("join", {"room": f"tenant:{org.id + 1}"})  # asking to join another tenant's room
    await talker.sio.emit("message", marker)
    await asyncio.sleep(QUIET)

    assert talker.connected, "five packets in a second are not a flood"
    assert not [r for r in observer.received if marker in json.dumps(r.payload)], observer.received
    assert not [r for r in talker.received if marker in json.dumps(r.payload)], talker.received
    assert ok(await org["admin"].get("/api/v1/events", params={"after": 0, "limit": 1}))["last_seq"] == before
    orders_after = ok(await org["admin"].get("/api/v1/orders", params={"limit": 200}))["items"]
    assert [o["id"] for o in orders_after] == [o["id"] for o in orders_before]

    flooder = await sockets(org["technician"].token)
    sent = 0
    for i in range(200):
        try:
            await flooder.sio.emit("spam", {"i": i, "title": marker})
            sent += 1
        except socketio.exceptions.SocketIOError:
            break  # already cut off
    await asyncio.wait_for(flooder.disconnected.wait(), 2.0)
    assert not flooder.connected

    # The server is fine: ready, the other sockets still live and still fed, new sockets accepted.
    ready = await live.anon().get("/health/ready")
    assert ready.status == 200, ready
    assert observer.connected and talker.connected
    after_flood = await create_order(org["manager"], unique("after the flood"))
    newcomer = await sockets(org["technician"].token)
    assert await observer.wait_for(lambda c: bool(c.find(org.id, "order:created", after_flood["id"])), DELIVERY)
    assert newcomer.connected


# --- (i) seq is gapless and every event is received once, in order --------------------------------------


async def test_seq_is_gapless_and_each_event_arrives_once_in_order(live: Live, sockets: Connect) -> None:
    t = await live.tenant({"manager": "manager", "technician": "technician"})
    client = await sockets(t["technician"].token)
    start = ok(await t["manager"].get("/api/v1/events", params={"after": 0, "limit": 1}))["last_seq"]

    created = await asyncio.gather(*(create_order(t["manager"], unique(f"burst {i}")) for i in range(20)))
    ids = {o["id"] for o in created}
    assert len(ids) == 20
    assert await client.wait_for(
        lambda c: {r.data.get("id") for r in c.of_tenant(t.id) if r.event == "order:created"} >= ids, DELIVERY
    ), client.received
    await asyncio.sleep(QUIET)  # duplicates, if any, would show up now

    events = client.of_tenant(t.id)
    assert [r.event for r in events] == ["order:created"] * 20, events
    assert [r.seq for r in events] == list(range(start + 1, start + 21)), [r.seq for r in events]
    assert {r.data["id"] for r in events} == ids
    # Commit order = seq order: each order's number was taken inside its own transaction, in seq order.
    numbers = [int(r.data["number"].removeprefix("WO-")) for r in events]
    assert numbers == sorted(numbers), numbers

    rows = await superuser_sql(live.dsn, "SELECT seq FROM outbox WHERE tenant_id = %s ORDER BY seq", (t.id,))
    [(event_seq,)] = await superuser_sql(live.dsn, "SELECT event_seq FROM tenants WHERE id = %s", (t.id,))
    assert [r[0] for r in rows] == list(range(1, event_seq + 1))
    assert event_seq == start + 20


# --- the official JavaScript client ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def js_client() -> Path:
    """tests/js with socket.io-client installed (npm install when node_modules is missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are required for the JavaScript client tests (Node.js 20)")
    if not (JS_DIR / "node_modules" / "socket.io-client" / "package.json").exists():
        # --no-package-lock: the dependency range lives in package.json; no lock file in the tree.
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"npm install failed in {JS_DIR} ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return JS_DIR / "client.mjs"


class JsClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []

    async def next_line(self, within: float) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        try:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), within)
        except TimeoutError:
            return None
        if not raw:
            return None
        line = json.loads(raw)
        self.lines.append(line)
        return dict(line)

    async def until(self, predicate: Callable[[dict[str, Any]], bool], within: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            line = await self.next_line(left)
            if line is None:
                return None
            if predicate(line):
                return line
        return None

    async def stop(self) -> str:
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            _, err = await asyncio.wait_for(self.proc.communicate(), 5)
        except TimeoutError:
            self.proc.kill()
            _, err = await self.proc.communicate()
        return (err or b"").decode(errors="replace")


async def _start_js(script: Path, url: str, token: str | None) -> JsClient:
    args = [str(script), url] + ([token] if token is not None else [])
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        *args,
        cwd=script.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return JsClient(proc)


async def test_js_client_authenticates_and_receives_order_created(js_client: Path, live: Live, org: Tenant) -> None:
    js = await _start_js(js_client, live.url, org["technician"].token)
    try:
        connected = await js.until(lambda line: "connected" in line or "connect_error" in line, 15)
        assert connected and connected.get("connected"), f"{js.lines} {await js.stop()}"
        order = await create_order(org["manager"], unique("seen by javascript"))
        got = await js.until(lambda line: line.get("event") == "order:created" and line.get("id") == order["id"], 10)
        assert got is not None, f"{js.lines} {await js.stop()}"
        assert got["tenant_id"] == org.id
        assert isinstance(got["seq"], int) and got["seq"] > 0
        replayed = ok(await org["technician"].get("/api/v1/events", params={"after": got["seq"] - 1, "limit": 1}))
        assert replayed["items"][0]["data"]["id"] == order["id"]
    finally:
        await js.stop()


async def test_js_client_with_a_bad_token_gets_the_refusal_reason(js_client: Path, live: Live, org: Tenant) -> None:
    forged = jwt.encode(_claims(live.settings, org.id, org.users["technician"]), "y" * 64, algorithm="HS256")
    for token, pattern in ((forged, r"not valid|invalid"), (None, r"token")):
        js = await _start_js(js_client, live.url, token)
        try:
            line = await js.until(lambda item: "connect_error" in item or "connected" in item, 15)
            assert line is not None and "connect_error" in line, f"{js.lines} {await js.stop()}"
            assert re.search(pattern, line["connect_error"], re.I), line
            assert await asyncio.wait_for(js.proc.wait(), 5) == 1
        finally:
            await js.stop()
