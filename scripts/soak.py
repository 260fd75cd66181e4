"""Soak: `cmms serve` under steady mixed load with faults injected on a schedule.

Starts its own PostgreSQL cluster and Redis (the fault suite's private servers, on free loopback
ports) and one daemon, then runs for `--minutes`: live sockets, order writes and transitions,
reads, searches and export jobs, while every `--fault-every` seconds one fault is injected in
turn: Redis restarted empty, PostgreSQL restarted, Redis hung for 5 s, the daemon SIGKILLed and
started again. Every `--report-every` seconds it prints a line; at the end a table of throughput,
p99 latency and errors per kind, the daemon's RSS over time, and the invariants checked:

- every order whose 201 reached the load generator is stored, and has its `order:created` event;
- replay from 0 is gapless;
- every export job completed exactly once (one attempt recorded as completed, none failed);
- a token logged out at the start is refused after every fault.

    python scripts/soak.py --minutes 30 [--sockets 200] [--fault-every 300]

RSS is the daemon's resident set (psutil) sampled every report; after a SIGKILL the new process
is measured, so compare samples between kills as well as start and end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.faults.conftest import new_database
from tests.faults.daemon import PASSWORD, Client, Daemon, login
from tests.faults.servers import PrivatePostgres, PrivateRedis


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.count: Counter[str] = Counter()

    def add(self, kind: str, seconds: float, outcome: str | None) -> None:
        self.count[kind] += 1
        self.latency[kind].append(seconds)
        if outcome:
            self.errors[f"{kind} {outcome}"] += 1


def p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(tempfile.mkdtemp(prefix="cmms-soak-", dir="/tmp"))
        self.root.chmod(0o755)
        self.stats = Stats()
        self.confirmed: list[int] = []
        self.jobs: list[int] = []
        self.received: set[int] = set()
        self.rss: list[tuple[float, float]] = []
        self.faults: list[tuple[float, str, bool]] = []
        self.stop = asyncio.Event()

    async def setup(self) -> None:
        self.pg = PrivatePostgres(self.root / "pg")
        self.pg.start()
        self.redis = PrivateRedis(self.root / "redis")
        self.redis.start()
        self.daemon = Daemon(self.root / "data", new_database(self.pg), self.redis.url,
                             extra_env={"CMMS_LOG_LEVEL": "WARNING", "CMMS_DATABASE_CONNECT_TIMEOUT": "2"})
        await self.daemon.start()
        self.tenant = f"soak{uuid.uuid4().hex[:6]}"
        self.daemon.cli("tenant", "create", self.tenant)
        self.daemon.cli("user", "create", "--tenant", self.tenant, "--email", "admin@soak.test", "--role", "admin",
                        "--password-stdin", stdin=PASSWORD + "\n")
        self.admin, self.admin_login = await login(self.daemon.url, self.tenant, "admin@soak.test")
        self.logged_in = time.monotonic()
        self.daemon.cli("seed", "--tenant", self.tenant, "--assets", "500", "--orders", "2000")
        _, gone = await login(self.daemon.url, self.tenant, "admin@soak.test")
        self.revoked = Client(self.daemon.url, gone["access_token"])
        await self.revoked.ok("POST", "/api/v1/auth/logout", status=204)

    async def timed(self, kind: str, method: str, path: str, body: Any = None) -> Any:
        started = time.perf_counter()
        try:
            status, data, _ = await self.admin.call(method, path, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.add(kind, time.perf_counter() - started, type(exc).__name__)
            return None
        if status == 401:
            await self.relogin()
        self.stats.add(kind, time.perf_counter() - started, None if status < 400 else str(status))
        return data if status < 400 else None

    async def relogin(self) -> None:
        try:
            self.admin, _ = await login(self.daemon.url, self.tenant, "admin@soak.test")
            self.logged_in = time.monotonic()
        except Exception:
            pass

    async def loop(self, rate: float, action: Any) -> None:
        while not self.stop.is_set():
            await action()
            await asyncio.sleep(random.expovariate(rate))

    async def write(self) -> None:
        order = await self.timed("write", "POST", "/api/v1/orders", {"title": f"Soak {random.randint(1, 10**6)}"})
        if order:
            self.confirmed.append(order["id"])
            await self.timed("update", "PATCH", f"/api/v1/orders/{order['id']}", {"priority": "high"})

    async def read(self) -> None:
        await self.timed("read", "GET", random.choice(["/api/v1/orders?limit=50", "/api/v1/assets?limit=50",
                                                        "/api/v1/alerts", "/api/v1/me"]))

    async def search(self) -> None:
        await self.timed("search", "GET", f"/api/v1/search?q={random.choice(['pump', 'leak', 'bearing', 'WO-00'])}"
                                          "&type=orders,assets")

    async def job(self) -> None:
        job = await self.timed("job", "POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "assets"}})
        if job:
            self.jobs.append(job["id"])

    async def sockets(self) -> None:
        clients = []
        for _ in range(self.args.sockets):
            sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=3)
            sio.on("order:created", lambda data: self.received.add(data["data"]["id"]))
            try:
                await sio.connect(self.daemon.url, transports=["websocket"], wait_timeout=10,
                                  auth=lambda: {"token": self.admin.token})
            except Exception:
                self.stats.errors["socket connect"] += 1
            clients.append(sio)
        await self.stop.wait()
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)

    async def inject(self) -> None:
        kinds = ["redis restart (empty)", "postgres restart", "redis hung 5 s", "daemon SIGKILL + start"]
        n = 0
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), self.args.fault_every)
                return
            except TimeoutError:
                pass
            kind = kinds[n % len(kinds)]
            n += 1
            at = time.monotonic() - self.started
            if kind.startswith("redis restart"):
                self.redis.restart()
            elif kind.startswith("postgres"):
                await asyncio.to_thread(self.pg.restart)
            elif kind.startswith("redis hung"):
                self.redis.pause()
                await asyncio.sleep(5)
                self.redis.resume()
            else:
                self.daemon.kill()
                await self.daemon.start()
            await asyncio.sleep(10)  # recovery window
            status, _, _ = await self.revoked.call("GET", "/api/v1/me")
            self.faults.append((at, kind, status == 401))

    async def report(self) -> None:
        last = Counter(self.stats.count)
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(self.stop.wait(), self.args.report_every)
            except TimeoutError:
                pass
            # Like the console, log in again before the access token expires, so sockets that
            # the server closes at expiry reconnect with a fresh token.
            if time.monotonic() - self.logged_in > 600:
                await self.relogin()
            rss = 0.0
            try:
                rss = psutil.Process(self.daemon.proc.pid).memory_info().rss / 2**20 if self.daemon.proc else 0.0
            except psutil.NoSuchProcess:
                pass
            now = time.monotonic() - self.started
            self.rss.append((now, rss))
            done = sum(self.stats.count.values()) - sum(last.values())
            last = Counter(self.stats.count)
            print(f"{now / 60:6.1f} min  {done / self.args.report_every:7.1f} req/s  RSS {rss:6.1f} MiB  "
                  f"errors {sum(self.stats.errors.values())}  orders {len(self.confirmed)}", flush=True)

    async def run(self) -> int:
        await self.setup()
        self.started = time.monotonic()
        tasks = [
            asyncio.create_task(self.sockets()),
            asyncio.create_task(self.loop(self.args.writes, self.write)),
            asyncio.create_task(self.loop(self.args.reads, self.read)),
            asyncio.create_task(self.loop(self.args.reads, self.read)),
            asyncio.create_task(self.loop(self.args.searches, self.search)),
            asyncio.create_task(self.loop(0.1, self.job)),
            asyncio.create_task(self.inject()),
            asyncio.create_task(self.report()),
        ]
        await asyncio.sleep(self.args.minutes * 60)
        self.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.monotonic() - self.started
        await asyncio.sleep(15)  # let the last jobs and events settle
        try:
            return await self.verify(elapsed)
        finally:
            self.daemon.stop()
            self.redis.close()
            self.pg.close()

    async def verify(self, elapsed: float) -> int:
        await self.relogin()
        print(f"\nsoak: {elapsed / 60:.1f} min, {self.args.sockets} sockets\n")
        print("| kind | requests | req/s | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for kind, values in sorted(self.stats.latency.items()):
            errors = sum(n for k, n in self.stats.errors.items() if k.startswith(kind + " "))
            print(f"| {kind} | {len(values)} | {len(values) / elapsed:.1f} | {statistics.median(values) * 1000:.1f}"
                  f" | {p(values, 0.99):.1f} | {errors} |")
        print("\nerrors by kind:", dict(self.stats.errors) or "none")
        print("RSS MiB over time:", " ".join(f"{t / 60:.0f}m:{r:.0f}" for t, r in self.rss))
        print("faults:", "; ".join(f"{t / 60:.1f} min {k} (revoked token refused: {ok})" for t, k, ok in self.faults))
        failures = []
        stored, created = await self.orders(), await self.created_events()
        missing = set(self.confirmed) - stored
        failures += [f"{len(missing)} confirmed orders missing"] if missing else []
        unannounced = set(self.confirmed) - created
        failures += [f"{len(unannounced)} orders without an event"] if unannounced else []
        jobs = [await self.admin.ok("GET", f"/api/v1/jobs/{j}") for j in self.jobs]
        bad = [j for j in jobs if j["status"] != "completed"]
        failures += [f"{len(bad)} jobs not completed: {Counter(j['status'] for j in bad)}"] if bad else []
        failures += [f"revoked token accepted after {k}" for _, k, ok in self.faults if not ok]
        live = len(self.received & set(self.confirmed))
        print(f"\ninvariants: {len(self.confirmed)} confirmed orders all stored: {not missing}; "
              f"events gapless and one per order: {self.gapless and not unannounced}; "
              f"jobs {len(jobs)} completed: {len(jobs) - len(bad)}; orders seen live by sockets: {live}")
        for failure in failures:
            print("FAILED:", failure)
        return 1 if failures or not self.gapless else 0

    async def orders(self) -> set[int]:
        ids: set[int] = set()
        cursor = ""
        while True:
            page = await self.admin.ok("GET", f"/api/v1/orders?limit=200{cursor}")
            ids |= {o["id"] for o in page["items"]}
            if not page["next_cursor"]:
                return ids
            cursor = f"&cursor={page['next_cursor']}"

    async def created_events(self) -> set[int]:
        created: set[int] = set()
        after, seqs = 0, []
        while True:
            page = await self.admin.ok("GET", f"/api/v1/events?after={after}&limit=200")
            if not page["items"]:
                break
            for event in page["items"]:
                seqs.append(event["seq"])
                if event["type"] == "order:created":
                    created.add(event["data"]["id"])
            after = page["items"][-1]["seq"]
        self.gapless = seqs == list(range(1, len(seqs) + 1))
        return created


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--writes", type=float, default=10, help="order writes per second")
    parser.add_argument("--reads", type=float, default=20, help="reads per second, per reader (two readers)")
    parser.add_argument("--searches", type=float, default=3, help="searches per second")
    parser.add_argument("--fault-every", type=float, default=300, help="seconds between faults")
    parser.add_argument("--report-every", type=float, default=60)
    return asyncio.run(Soak(parser.parse_args()).run())


if __name__ == "__main__":
    sys.exit(main())
