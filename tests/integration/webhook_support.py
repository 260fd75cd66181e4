"""A real HTTP receiver on a loopback port, and the delivery pipeline driven inside the test.

`Pipeline` feeds one tenant's outbox rows to the relay's webhook handler (the daemon's relay
would advance the shared relay position that other modules rely on) and runs the senders in this
process, as a worker would after `cmms.deliver_webhook`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cmms.api.app import make_app
from cmms.jobs.webhooks import Senders
from cmms.realtime.webhooks import webhook_handler
from cmms.runtime import Runtime
from cmms.services import events
from cmms.services.deps import Deps
from tests.integration.support import Api


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["X-CMMS-Delivery"]


@dataclass
class Receiver:
    """Answers by path: /ok; /fail/<key>/<n> (500 for the first n); /hang (never answers);
    /hang-once/<key> (the first request never answers); /big (10 MB); /redirect (302 to a private
    address); /flaky/<key> (every third request 500)."""

    url: str = ""
    got: list[Received] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        self.got.append(Received(path, dict(request.headers), body))
        async with self.arrived:
            self.arrived.notify_all()
        key = path.rsplit("/", 1)[0] if path.startswith("/fail/") else path
        seen = self.counts[key] = self.counts.get(key, 0) + 1
        if path.startswith("/fail/"):
            failures = int(path.rsplit("/", 1)[1])
            return web.Response(status=500, text="boom") if seen <= failures else web.Response(text="thanks")
        if path.startswith("/flaky/"):
            return web.Response(status=500, text="flaky") if seen % 3 == 0 else web.Response(text="ok")
        if path == "/hang" or (path.startswith("/hang-once/") and seen == 1):
            await self.release.wait()
            return web.Response(text="late")
        if path == "/big":
            resp = web.StreamResponse()
            await resp.prepare(request)
            chunk = b"x" * 65_536
            try:
                for _ in range(160):  # 10 MiB
                    await resp.write(chunk)
            except (ConnectionResetError, ConnectionError):
                pass
            return resp
        if path == "/redirect":
            return web.Response(status=302, headers={"Location": "http://10.0.0.1/steal"})
        return web.Response(text="ok " + "y" * 2000)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    async def wait_for(self, path: str, count: int, timeout: float = 30.0) -> list[Received]:
        """Until `count` requests reached `path` (the timeout only bounds a broken run)."""
        async with asyncio.timeout(timeout):
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.at(path)) >= count)
        return self.at(path)


async def start_receiver() -> tuple[Receiver, web.AppRunner]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}"
    return receiver, runner


def webhook_deps(rt: Runtime, **webhooks: Any) -> Deps:
    """The runtime's deps with test-sized webhook settings (fast retries, short timeouts)."""
    base = dict(allow_private_targets=True, retry_base_seconds=0.1, timeout=1.0, connect_timeout=0.5, max_attempts=4)
    settings = replace(rt.settings, webhooks=replace(rt.settings.webhooks, **{**base, **webhooks}))
    return replace(rt.deps, settings=settings)


@dataclass
class Pipeline:
    deps: Deps
    tenant_id: int
    senders: Senders
    after: int = 0
    kicks: list[tuple[int, int]] = field(default_factory=list)
    lose_kicks: bool = False

    async def kick(self, tenant_id: int, webhook_id: int) -> None:
        self.kicks.append((tenant_id, webhook_id))
        if not self.lose_kicks:
            self.senders.wake(tenant_id, webhook_id)

    async def pump(self) -> int:
        """Relay this tenant's new events to the webhook handler, as the daemon's relay does."""
        handler = webhook_handler(self.deps, self.kick)
        count = 0
        while rows := await events.batch(self.deps, self.tenant_id, self.after, 500):
            await handler(rows)
            self.after = rows[-1]["seq"]
            count += len(rows)
        return count


async def open_app(deps: Deps) -> TestClient:
    client = TestClient(TestServer(make_app(deps, _ready)))
    await client.start_server()
    return client


async def _ready() -> dict[str, dict[str, object]]:
    return {}


def as_caller(client: TestClient, api: Api) -> Api:
    """The same caller (token) on another app: every app of the suite shares the JWT secret."""
    return Api(client, api.token, user=api.user)
