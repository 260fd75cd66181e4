"""Webhook deliveries survive a daemon SIGKILLed mid-delivery and a restart with a backlog.

A real `cmms serve` (relay, job workers and scheduler inside it) on private servers sends to a
receiver in this process on loopback (`[webhooks] allow_private_targets = true`). What must hold:
every event the webhook subscribed to reaches the receiver, the delivery that was in flight when
the daemon died is sent again with the same delivery id and body, and the first arrival of each
event follows `seq`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
from aiohttp import web

from cmms.domain import webhooks as rules
from tests.faults.conftest import Plant, close_plant, open_plant
from tests.faults.daemon import eventually
from tests.faults.servers import PrivatePostgres

ENV = {
    "CMMS_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    "CMMS_WEBHOOKS_RETRY_BASE_SECONDS": "0.2",
    "CMMS_WEBHOOKS_MAX_ATTEMPTS": "100",
    "CMMS_WEBHOOKS_CONNECT_TIMEOUT": "1",
    "CMMS_WEBHOOKS_TIMEOUT": "10",  # longer than the test takes to kill the daemon mid-request
}

pytestmark = pytest.mark.timeout(300)


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.hang_first = False
        self.down = False
        self.hanging = asyncio.Event()
        self.release = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.got.append((dict(request.headers), body))
        if self.hang_first and len(self.got) == 1:
            self.hanging.set()
            await self.release.wait()
            return web.Response(text="too late")
        if self.down:
            return web.Response(status=503, text="down for maintenance")
        return web.Response(text="ok")

    def first_seqs(self) -> list[int]:
        seen: list[int] = []
        for _, body in self.got:
            seq = orjson.loads(body)["seq"]
            if seq not in seen:
                seen.append(seq)
        return seen


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    yield found
    found.release.set()
    await runner.cleanup()


@pytest.fixture
async def hooked(shared_pg: PrivatePostgres, scratch: Path) -> AsyncIterator[Plant]:
    p = await open_plant(shared_pg, scratch / f"hooks-{uuid.uuid4().hex[:6]}", **ENV)
    try:
        yield p
    finally:
        close_plant(p)


def kill_every_process(plant: Plant) -> None:
    """SIGKILL the node processes (`cmms serve` runs one per core under a parent) before the parent,
    so none of them gets the orderly stop a parent's death would give it."""
    assert plant.daemon.proc is not None
    for child in psutil.Process(plant.daemon.proc.pid).children(recursive=True):
        child.kill()
    plant.daemon.kill()


async def subscribe(plant: Plant, url: str) -> dict[str, Any]:
    return await plant.admin.ok("POST", "/api/v1/webhooks", {"url": url, "events": ["order:created"]}, 201)


async def orders(plant: Plant, n: int, prefix: str) -> list[int]:
    made = []
    for i in range(n):
        made.append((await plant.admin.ok("POST", "/api/v1/orders", {"title": f"{prefix} {i}"}, 201))["id"])
    return made


async def order_seqs(plant: Plant) -> list[int]:
    page = await plant.admin.ok("GET", "/api/v1/events?after=0&limit=500")
    return [e["seq"] for e in page["items"] if e["type"] == "order:created"]


def check_signatures(receiver: Receiver, secret: str) -> None:
    for headers, body in receiver.got:
        stamp = int(headers["X-CMMS-Timestamp"])
        assert rules.verify(secret, stamp, body, headers["X-CMMS-Signature"], now=time.time(), tolerance=600)


async def test_sigkill_mid_delivery_loses_no_delivery(hooked: Plant, receiver: Receiver) -> None:
    receiver.hang_first = True
    hook = await subscribe(hooked, receiver.url)
    await orders(hooked, 8, "before")
    await asyncio.wait_for(receiver.hanging.wait(), 30)  # the first delivery is on the wire
    in_flight = receiver.got[0]
    kill_every_process(hooked)
    receiver.release.set()
    await hooked.daemon.start()
    await orders(hooked, 4, "after")
    wanted = await order_seqs(hooked)
    assert len(wanted) == 12

    async def all_arrived() -> bool:
        return set(wanted) <= set(receiver.first_seqs())

    await eventually(all_arrived, 120.0, 0.5)
    assert receiver.first_seqs()[: len(wanted)] == wanted  # first arrivals in seq order
    resent = [h for h, b in receiver.got[1:] if h["X-CMMS-Delivery"] == in_flight[0]["X-CMMS-Delivery"]]
    assert resent, "the delivery in flight at the kill was sent again"
    assert all(b == in_flight[1] for h, b in receiver.got if h["X-CMMS-Delivery"] == in_flight[0]["X-CMMS-Delivery"])
    check_signatures(receiver, hook["secret"])
    page = await hooked.admin.ok("GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=200")
    assert len(page["items"]) == 12 and all(d["status"] == "delivered" for d in page["items"])


async def test_restart_with_a_failing_backlog_delivers_everything_in_order(hooked: Plant, receiver: Receiver) -> None:
    receiver.down = True
    hook = await subscribe(hooked, receiver.url)
    await orders(hooked, 6, "backlog")

    async def retried() -> bool:
        return len(receiver.got) >= 3  # the first delivery is being retried; the rest wait behind it

    await eventually(retried, 30.0)
    assert {orjson.loads(b)["seq"] for _, b in receiver.got} == {receiver.first_seqs()[0]}  # held back
    assert hooked.daemon.stop() == 0
    receiver.down = False
    await hooked.daemon.start()
    await orders(hooked, 2, "after restart")
    wanted = await order_seqs(hooked)

    async def all_arrived() -> bool:
        return set(wanted) <= set(receiver.first_seqs())

    await eventually(all_arrived, 120.0, 0.5)
    assert receiver.first_seqs() == wanted
    check_signatures(receiver, hook["secret"])
    page = await hooked.admin.ok("GET", f"/api/v1/webhooks/{hook['id']}/deliveries?limit=200")
    statuses = {d["status"] for d in page["items"]}
    assert statuses == {"delivered"} and len(page["items"]) == len(wanted)
