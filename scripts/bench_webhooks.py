"""Webhook latency: an event (a created work order) to its signed delivery at a receiver.

Starts its own PostgreSQL and Redis (the fault suite's private servers) and one `cmms serve`
(relay, job workers and scheduler inside it, `[webhooks] allow_private_targets = true`), a
receiver on loopback with `--webhooks` subscriptions to `order:created`, then creates orders at
`--rate` per second for `--seconds`. Each delivery's signature is checked with its secret; the
latency is from the 201 of the order to the receipt of its delivery (and from the request's
start, which adds the write itself). Prints a Markdown table.

    python scripts/bench_webhooks.py [--rate 50] [--webhooks 10] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cmms.domain import webhooks as rules
from tests.faults.conftest import new_database
from tests.faults.daemon import PASSWORD, Daemon, login
from tests.faults.servers import PrivatePostgres, PrivateRedis


class Receiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> secret
        self.arrived: dict[tuple[str, int], float] = {}  # (path, order id) -> first receipt
        self.bad_signatures = 0
        self.requests = 0

    async def handle(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        body = await request.read()
        self.requests += 1
        secret = self.secrets.get(request.path, "")
        stamp = int(request.headers["X-CMMS-Timestamp"])
        if not rules.verify(secret, stamp, body, request.headers["X-CMMS-Signature"], now=time.time()):
            self.bad_signatures += 1
        order_id = orjson.loads(body)["data"]["id"]
        self.arrived.setdefault((request.path, order_id), at)
        return web.Response(text="ok")


async def _relay_lag(admin: Any, webhook_id: int, created_at: dict[int, str]) -> list[float]:
    """Seconds from each order's commit to its delivery row, for the last webhook (the relay's share)."""
    by_seq: dict[int, str] = {}
    events, after = [], 0
    while page := (await admin.ok("GET", f"/api/v1/events?after={after}&limit=200"))["items"]:
        events += page
        after = page[-1]["seq"]
    for event in events:
        if event["type"] == "order:created" and event["data"]["id"] in created_at:
            by_seq[event["seq"]] = event["at"]
    lags, cursor = [], ""
    while True:
        page = await admin.ok("GET", f"/api/v1/webhooks/{webhook_id}/deliveries?limit=200{cursor}")
        for d in page["items"]:
            if d["seq"] in by_seq:
                lags.append(_ts(d["created_at"]) - _ts(by_seq[d["seq"]]))
        if not page["next_cursor"]:
            return lags
        cursor = f"&cursor={page['next_cursor']}"


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="cmms-bench-hooks-", dir="/tmp"))
    root.chmod(0o755)
    pg = PrivatePostgres(root / "pg")
    pg.start()
    redis = PrivateRedis(root / "redis")
    redis.start()
    env = {"CMMS_LOG_LEVEL": "WARNING", "CMMS_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true"}
    daemon = Daemon(root / "data", new_database(pg), redis.url, extra_env=env)
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        await daemon.start()
        tenant = f"bench{uuid.uuid4().hex[:6]}"
        daemon.cli("tenant", "create", tenant)
        daemon.cli("user", "create", "--tenant", tenant, "--email", "admin@bench.test", "--role", "admin",
                   "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        admin, _ = await login(daemon.url, tenant, "admin@bench.test")
        for i in range(args.webhooks):
            path = f"/hook{i}"
            hook = await admin.ok("POST", "/api/v1/webhooks", {"url": base + path, "events": ["order:created"]}, 201)
            receiver.secrets[path] = hook["secret"]
        created: dict[int, tuple[float, float]] = {}  # order id -> (request start, 201)
        created_at: dict[int, str] = {}
        headers = {"Authorization": f"Bearer {admin.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:

            async def one(n: int) -> None:
                started = time.perf_counter()
                async with http.post(daemon.url + "/api/v1/orders", json={"title": f"bench {n}"}) as resp:
                    body = await resp.json()
                    if resp.status == 201:
                        created[body["id"]] = (started, time.perf_counter())
                        created_at[body["id"]] = body["created_at"]

            total = int(args.rate * args.seconds)
            t0 = time.perf_counter()
            tasks = []
            for n in range(total):
                await asyncio.sleep(max(0.0, t0 + n / args.rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(n)))
            await asyncio.gather(*tasks)
            sent_for = time.perf_counter() - t0
        expected = {(path, oid) for path in receiver.secrets for oid in created}
        deadline = time.monotonic() + 120
        while not expected <= receiver.arrived.keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        from_201 = [receiver.arrived[k] - created[k[1]][1] for k in expected if k in receiver.arrived]
        from_start = [receiver.arrived[k] - created[k[1]][0] for k in expected if k in receiver.arrived]
        lost = len(expected - receiver.arrived.keys())
        print()
        rate = len(created) / sent_for
        print(f"{len(created)} events in {sent_for:.1f} s ({rate:.1f}/s) to {args.webhooks} webhooks;")
        print(f"{len(from_201)} of {len(expected)} deliveries received, {lost} missing, "
              f"{receiver.bad_signatures} bad signatures, {receiver.requests} requests")  # fmt: skip
        print()
        print("| latency (ms) | p50 | p90 | p99 | max | mean |")
        print("|---|---:|---:|---:|---:|---:|")
        relay_lag = await _relay_lag(admin, hook["id"], created_at)
        rows = [
            ("201 → delivery received", from_201),
            ("request sent → delivery received", from_start),
            ("order committed → delivery row (relay)", relay_lag),
        ]
        for name, values in rows:
            ms = [v * 1000 for v in values]
            print(f"| {name} | {pct(ms, 0.5):.1f} | {pct(ms, 0.9):.1f} | {pct(ms, 0.99):.1f} | "
                  f"{max(ms, default=0):.1f} | {statistics.fmean(ms) if ms else 0:.1f} |")  # fmt: skip
        return 0 if lost == 0 and receiver.bad_signatures == 0 else 1
    finally:
        daemon.stop()
        await runner.cleanup()
        redis.close()
        pg.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    parser.add_argument("--webhooks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

