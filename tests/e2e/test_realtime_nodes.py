"""Two `cmms serve` processes behind one database and one Redis: cross-node delivery and relay failover.

Both nodes share a fresh PostgreSQL database, a Redis database of their own and the JWT secret;
each has its own --data-dir. Exactly one node's outbox relay is active (the one holding the
advisory lock); Socket.IO fans out through Redis, so a socket on either node receives every
event. Killing the relay's node with SIGKILL hands the lock to the other node, and clients that
reconnect and replay from their last `seq` end up with every event exactly once.

Tenants and users are made in-process with the services over the same database (faster than the
CLI, and the same code path); everything else goes over HTTP and Socket.IO to the processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

import cmms
from cmms.config import load_settings
from cmms.runtime import Runtime, open_runtime
from tests.integration.realtime_support import (
    JWT_SECRET,
    LiveClient,
    Received,
    create_database,
    create_order,
    drop_database,
    free_port,
    http,
    redis_url,
    relay_backend_port,
    replay_all,
    spread_ids,
    wait_until,
)
from tests.integration.support import Api, Tenant, make_tenant, unique

REDIS_DB = 11  # this module's keys; pub/sub is shared across databases (see realtime_support)
REPO = Path(cmms.__file__).resolve().parents[1]
READY_WITHIN = 30.0
TAKEOVER_WITHIN = 10.0  # the standby retries the lock every 2 s

pytestmark = pytest.mark.timeout(180)


@dataclass
class Node:
    name: str
    port: int
    data_dir: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"---- start {self.name} on {self.port} ----\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cmms",
                    "--data-dir",
                    str(self.data_dir),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",  # one process per node: the test kills the relay's process by its connection
                ],
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, within: float = READY_WITHIN) -> None:
        assert self.proc is not None and self.session is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                async with self.session.get("/health/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"node {self.name} not ready within {within}s:\n{self.tail()}")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def owns_local_port(self, port: int) -> bool:
        """Whether this process has a TCP connection from `port` (e.g. its database connection)."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            conns = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        return any(c.laddr and c.laddr.port == port for c in conns)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Cluster:
    rt: Runtime
    dsn: str
    nodes: dict[str, Node]
    clients: list[LiveClient] = field(default_factory=list)

    async def relay_node(self, within: float = TAKEOVER_WITHIN, exclude: Node | None = None) -> Node:
        """The node whose process holds the relay's advisory lock (waits for one to get it)."""
        found: list[Node] = []

        async def probe() -> bool:
            port = await relay_backend_port(self.dsn)
            if port is None:
                return False
            found[:] = [n for n in self.nodes.values() if n.owns_local_port(port)]
            return len(found) == 1 and found[0] is not exclude

        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await probe():
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no relay holder found (saw {[n.name for n in found]}):\n{self.logs()}")

    async def tenant(self, node: Node) -> Tenant:
        assert node.session is not None
        return await make_tenant(self.rt, node.session, {"manager": "manager", "technician": "technician"})  # type: ignore[arg-type]

    async def socket(self, node: Node, token: str | None) -> LiveClient:
        client = LiveClient(node.url, token)
        self.clients.append(client)
        return await client.connect()

    def logs(self) -> str:
        return "\n".join(f"== {n.name} ==\n{n.tail()}" for n in self.nodes.values())


def _api(node: Node, token: str | None) -> Api:
    assert node.session is not None
    return Api(node.session, token)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    name, dsn = create_database("cmms_e2e_rt")
    base = tmp_path_factory.mktemp("nodes")
    nodes: dict[str, Node] = {}
    try:
        settings = load_settings(
            env={},
            database_url=dsn,
            redis_url=redis_url(REDIS_DB),
            data_dir=str(base / "tests"),
            jwt_secret=JWT_SECRET,
            database_pool_min=1,
        )
        async with open_runtime(settings) as rt:  # migrations first, then spread the ids
            await spread_ids(dsn)
            env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
            env.update(
                CMMS_DATABASE_URL=dsn,
                CMMS_REDIS_URL=redis_url(REDIS_DB),
                CMMS_JWT_SECRET=JWT_SECRET,
                CMMS_LOG_LEVEL="INFO",
                PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
            )
            for key in ("A", "B"):
                data_dir = base / key
                data_dir.mkdir()
                nodes[key] = Node(key, free_port(), data_dir, env, base / f"{key}.log")
            for node in nodes.values():
                node.start()
                node.session = http(node.url)
            cl = Cluster(rt, dsn, nodes)
            try:
                await asyncio.gather(*(n.wait_ready() for n in nodes.values()))
                yield cl
            finally:
                await asyncio.gather(*(c.close() for c in cl.clients), return_exceptions=True)
                for node in nodes.values():
                    node.stop()
                    if node.session is not None:
                        await node.session.close()
    finally:
        for node in nodes.values():
            node.stop()
        drop_database(name)


def _key(event: Received | dict[str, Any]) -> tuple[int, str, Any]:
    """(seq, type, order id) of a live or a replayed event."""
    if isinstance(event, Received):
        assert event.seq is not None, event
        return int(event.seq), event.event, event.data.get("id")
    return int(event["seq"]), event["type"], event["data"].get("id")


def _copies(events: list[Any]) -> dict[int, set[tuple[str, Any]]]:
    """The distinct (type, order id) that arrived under each seq."""
    out: dict[int, set[tuple[str, Any]]] = {}
    for seq, kind, oid in map(_key, events):
        out.setdefault(seq, set()).add((kind, oid))
    return out


def _first_copies(events: list[Any]) -> list[tuple[int, str, Any]]:
    """De-duplicate by seq, keeping each seq's first arrival, in arrival order."""
    seen: set[int] = set()
    out = []
    for seq, kind, oid in map(_key, events):
        if seq not in seen:
            seen.add(seq)
            out.append((seq, kind, oid))
    return out


async def _last_seq(api: Api) -> int:
    reply = await api.get("/api/v1/events", params={"after": 0, "limit": 1})
    assert reply.status == 200, reply
    return int(reply.json["last_seq"])


async def test_an_event_committed_on_node_a_reaches_a_socket_on_node_b_exactly_once(cluster: Cluster) -> None:
    a, b = cluster.nodes["A"], cluster.nodes["B"]
    holder = await cluster.relay_node()
    assert holder in (a, b)
    t = await cluster.tenant(a)
    on_b = await cluster.socket(b, t["technician"].token)

    order = await create_order(_api(a, t["manager"].token), unique("cross-node"))
    assert await on_b.wait_for(lambda c: bool(c.find(t.id, "order:created", order["id"])), 5.0), (
        f"node B's socket got nothing for order {order['id']}: {on_b.received!r}\n{cluster.logs()}"
    )
    await asyncio.sleep(1.5)  # a second relay or a double fan-out would deliver a duplicate by now
    mine = on_b.of_tenant(t.id)
    assert [(r.event, r.data.get("id")) for r in mine] == [("order:created", order["id"])], mine
    # Still exactly one relay, on one node.
    assert (await cluster.relay_node()) is holder


async def eventually(read: Any, check: Any, within: float = 2.0) -> Any:
    """The first answer of `read()` that passes `check` within `within` s (a push takes that long at most)."""
    deadline = time.monotonic() + within
    while True:
        reply = await read()
        if check(reply) or time.monotonic() > deadline:
            return reply
        await asyncio.sleep(0.05)


async def test_a_write_on_node_a_ends_node_b_cached_answer_and_a_logout_its_session(cluster: Cluster) -> None:
    a, b = cluster.nodes["A"], cluster.nodes["B"]
    t = await cluster.tenant(a)
    manager_a, manager_b = _api(a, t["manager"].token), _api(b, t["manager"].token)
    plant = await manager_a.post("/api/v1/plants", {"name": unique("plant")})
    asset = await manager_a.post("/api/v1/assets", {"name": "before", "plant_id": plant.json["id"]})
    path = f"/api/v1/assets/{asset.json['id']}"
    for _ in range(3):  # node B now answers from its process memory
        assert (await manager_b.get(path)).json["name"] == "before"
    assert (await manager_a.patch(path, {"name": "after"})).status == 200
    seen = await eventually(lambda: manager_b.get(path), lambda r: r.json["name"] == "after")
    assert seen.json["name"] == "after", f"node B still serves the old asset:\n{cluster.logs()}"

    technician_b = _api(b, t["technician"].token)
    assert (await technician_b.get(path)).status == 200
    assert (await _api(a, t["technician"].token).post("/api/v1/auth/logout")).status == 204
    refused = await eventually(lambda: technician_b.get(path), lambda r: r.status == 401)
    assert refused.status == 401, f"node B still accepts a token logged out on node A: {refused}"


async def test_killing_the_relay_node_loses_nothing_after_reconnect_and_replay(cluster: Cluster) -> None:
    holder = await cluster.relay_node()
    survivor = next(n for n in cluster.nodes.values() if n is not holder)
    t = await cluster.tenant(survivor)
    technician, manager = t["technician"].token, _api(survivor, t["manager"].token)
    on_survivor = await cluster.socket(survivor, technician)
    on_holder = await cluster.socket(holder, technician)
    start = await _last_seq(_api(survivor, technician))

    created: list[dict[str, Any]] = []
    restart: asyncio.Task[None] | None = None
    kill: asyncio.Task[None] | None = None
    for i in range(30):
        created.append(await create_order(manager, unique(f"failover {i}")))
        if i == 9:
            # Events are going through the relay: kill its node mid-stream, without pausing the
            # orders. Most of the next ten are committed while no relay runs at all.
            assert await on_survivor.wait_for(lambda c: len(c.seqs(t.id, ["order:created"])) >= 5, 5.0)
            kill = asyncio.create_task(asyncio.to_thread(holder.kill))
        if i == 19:
            # The survivor takes the relay over (its standby loop retries the lock), then the
            # killed node comes back while the last ten orders go in.
            assert kill is not None
            await kill
            took_over = await cluster.relay_node(exclude=holder)
            assert took_over is survivor, f"relay did not move to {survivor.name}:\n{cluster.logs()}"
            holder.start()
            restart = asyncio.create_task(holder.wait_ready())
    assert restart is not None
    await restart
    ids = [o["id"] for o in created]
    await asyncio.wait_for(on_holder.disconnected.wait(), 5.0)  # the killed node's socket noticed
    assert (await cluster.relay_node()) is survivor, "the restarted node must not take a held lock"

    # The client of the killed node reconnects (to the restarted node) and replays from its last seq.
    seen = on_holder.seqs(t.id)
    last_seen = max(seen) if seen else start
    reconnected = await cluster.socket(holder, technician)
    replayed = await replay_all(_api(holder, technician), last_seen)
    # The survivor's socket stayed up throughout: the relay is at-least-once, so it gets every event live.
    assert await on_survivor.wait_for(
        lambda c: set(ids) <= {r.data.get("id") for r in c.of_tenant(t.id) if r.event == "order:created"},
        TAKEOVER_WITHIN,
    ), f"survivor's socket missed events: {sorted(set(ids) - {r.data.get('id') for r in on_survivor.of_tenant(t.id)})}"
    await asyncio.sleep(0.5)  # late duplicates

    truth = [e for e in await replay_all(_api(survivor, technician), start) if e["type"] == "order:created"]
    truth_seqs = [e["seq"] for e in truth]
    assert [e["data"]["id"] for e in truth] == ids, "the stored stream does not hold the 30 orders in order"
    assert truth_seqs == list(range(truth_seqs[0], truth_seqs[0] + 30)), truth_seqs
    assert truth_seqs[0] == start + 1

    views: dict[str, list[Any]] = {
        "survivor (live only)": on_survivor.of_tenant(t.id),
        "killed node's client (live + replay + reconnected live)": [
            *on_holder.of_tenant(t.id),
            *replayed,
            *reconnected.of_tenant(t.id),
        ],
    }
    for label, events in views.items():
        # Copies of one seq (re-delivery after the takeover) must be the same event.
        for seq, copies in _copies(events).items():
            assert len(copies) == 1, f"{label}: seq {seq} arrived as different events {copies}"
        first = [(seq, oid) for seq, kind, oid in _first_copies(events) if kind == "order:created"]
        assert [s for s, _ in first] == truth_seqs, f"{label}: got seqs {[s for s, _ in first]}"
        assert [oid for _, oid in first] == ids, label

    assert await wait_until(lambda: reconnected.connected, 1.0)
