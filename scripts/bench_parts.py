"""Stock issue benchmark: 16 concurrent clients issuing one hot part vs 16 different parts.

Starts `cmms serve` on a fresh database (the machine's PostgreSQL and Redis), stocks the parts,
then runs each scenario in alternating rounds (hot, spread, tenants, hot, ...) so machine noise
hits all alike. Every client posts `POST /api/v1/stock/moves {kind: issue, qty: 1}` in a loop.

- hot: 16 clients, one part at one location (one stock_levels row)
- spread: 16 clients, 16 parts of one tenant (client i issues part i)
- tenants: 16 clients, 16 parts in 16 tenants (client i is a user of tenant i)

Afterwards the hot part is checked: on hand = received - accepted issues, and the ledger replayed
from `stock_moves` gives the same number. Prints moves/s and p50/p99 latency per scenario.

    python scripts/bench_parts.py [--issues 150] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
from psycopg2.extensions import make_dsn

ADMIN_DSN = os.environ.get("CMMS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "bench-password-1"
CLIENTS = 16
STOCK = "1000000"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def admin(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


async def call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None, status: int = 200) -> Any:
    async with session.request(method, url, json=body) as resp:
        data = await resp.json(content_type=None)
        assert resp.status == status, (method, url, resp.status, data)
        return data


async def ready(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(300):
        try:
            async with session.get(f"{base}/health/ready") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("cmms serve never became ready")


async def login(base: str, tenant: str, email: str) -> aiohttp.ClientSession:
    async with aiohttp.ClientSession() as anon:
        body = {"tenant": tenant, "email": email, "password": PASSWORD}
        token = (await call(anon, "POST", f"{base}/api/v1/auth/login", body))["access_token"]
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})


async def stocked_part(s: aiohttp.ClientSession, base: str, name: str) -> dict[str, int]:
    """A part with STOCK units at a location of its own: {part_id, location_id}."""
    location = await call(s, "POST", f"{base}/api/v1/stock-locations", {"name": f"store {name}"}, 201)
    part = await call(s, "POST", f"{base}/api/v1/parts", {"number": name, "name": f"Bearing {name}"}, 201)
    move = {"part_id": part["id"], "location_id": location["id"], "kind": "receive", "qty": STOCK, "unit_cost": "2.50"}
    await call(s, "POST", f"{base}/api/v1/stock/moves", move, 201)
    return {"part_id": part["id"], "location_id": location["id"]}


async def run(clients: list[tuple[aiohttp.ClientSession, dict[str, int]]], base: str, issues: int) -> dict[str, Any]:
    latencies: list[float] = []
    accepted = 0

    async def client(session: aiohttp.ClientSession, target: dict[str, int]) -> None:
        nonlocal accepted
        body = {**target, "kind": "issue", "qty": "1"}
        for _ in range(issues):
            started = time.perf_counter()
            async with session.post(f"{base}/api/v1/stock/moves", json=body) as resp:
                await resp.read()
                assert resp.status == 201, resp.status
            latencies.append((time.perf_counter() - started) * 1000)
            accepted += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(s, t) for s, t in clients))
    return {"seconds": time.perf_counter() - started, "latencies": latencies, "accepted": accepted}


async def measure(base: str, tenants: list[str], issues: int, rounds: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as anon:
        await ready(anon, base)
    sessions = [await login(base, t, f"m@{t}.io") for t in tenants]
    main = sessions[0]
    try:
        hot = await stocked_part(main, base, "HOT-1")
        spread = [await stocked_part(main, base, f"SPREAD-{i}") for i in range(CLIENTS)]
        across = [await stocked_part(sessions[i + 1], base, f"T-{i}") for i in range(CLIENTS)]
        scenarios = {
            "hot: 1 part, 1 tenant": [(main, hot)] * CLIENTS,
            "spread: 16 parts, 1 tenant": [(main, p) for p in spread],
            "tenants: 16 parts, 16 tenants": list(zip(sessions[1:], across, strict=True)),
        }
        results: dict[str, dict[str, Any]] = {
            name: {"seconds": 0.0, "latencies": [], "accepted": 0} for name in scenarios
        }
        await run([(main, hot)] * 4, base, 10)  # warm-up, discarded
        for r in range(rounds):
            order = list(scenarios) if r % 2 == 0 else list(reversed(scenarios))
            for name in order:
                got = await run(scenarios[name], base, issues)
                results[name]["seconds"] += got["seconds"]
                results[name]["latencies"] += got["latencies"]
                results[name]["accepted"] += got["accepted"]
        stock = await call(main, "GET", f"{base}/api/v1/parts/{hot['part_id']}/stock")
        return {"results": results, "hot": hot, "hot_on_hand": stock["on_hand"], "warmup": 40}
    finally:
        for s in sessions:
            await s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=150, help="issues per client per round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    db = f"cmms_bench_{uuid.uuid4().hex[:8]}"
    dsn = make_dsn(ADMIN_DSN, dbname=db)
    tmp = Path(tempfile.mkdtemp(prefix="cmms-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "CMMS_DATABASE_URL": dsn,
        "CMMS_REDIS_URL": REDIS_URL,
        "CMMS_JWT_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "CMMS_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "cmms", "--data-dir", str(tmp)]
    tenants = [f"bench{uuid.uuid4().hex[:6]}" for _ in range(CLIENTS + 1)]
    with ExitStack() as stack:
        admin(ADMIN_DSN, f"CREATE DATABASE {db}")
        stack.callback(admin, ADMIN_DSN, "DROP DATABASE IF EXISTS " + db)
        stack.callback(
            admin, ADMIN_DSN, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,)
        )
        stack.callback(shutil.rmtree, tmp, True)
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
        for tenant in tenants:
            subprocess.run([*cli, "tenant", "create", tenant], env=env, check=True, capture_output=True)
            user = ["user", "create", "--tenant", tenant, "--email", f"m@{tenant}.io", "--role", "manager"]
            subprocess.run(
                [*cli, *user, "--password-stdin"], input=PASSWORD.encode(), env=env, check=True, capture_output=True
            )
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        stack.callback(proc.wait, 15)
        stack.callback(proc.send_signal, signal.SIGTERM)
        out = asyncio.run(measure(f"http://127.0.0.1:{port}", tenants, args.issues, args.rounds))
        hot = out["hot"]
        ledger = admin(
            dsn,
            "SELECT coalesce(sum(CASE WHEN kind = 'issue' THEN -qty ELSE qty END), 0),"
            " count(*) FILTER (WHERE kind = 'issue') FROM stock_moves WHERE part_id = %s",
            (hot["part_id"],),
        )[0]
    results = out["results"]
    print(f"{CLIENTS} concurrent clients, {args.issues} issues each per round, {args.rounds} rounds")
    print(f"{'scenario':<30} {'moves':>6} {'moves/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        lat = r["latencies"]
        rate = r["accepted"] / r["seconds"]
        print(f"{name:<30} {r['accepted']:>6} {rate:>8.1f} {percentile(lat, 0.5):>8.2f} {percentile(lat, 0.99):>8.2f}")
    hot_issues = results["hot: 1 part, 1 tenant"]["accepted"] + out["warmup"]
    expected = Decimal(STOCK) - hot_issues
    on_hand = Decimal(out["hot_on_hand"])
    print(
        f"hot part: on hand {on_hand} (expected {expected}), ledger replay {Decimal(ledger[0])},"
        f" issue moves {ledger[1]} (accepted {hot_issues}):"
        f" {'correct' if on_hand == expected == Decimal(ledger[0]) and ledger[1] == hot_issues else 'WRONG'}"
    )


if __name__ == "__main__":
    main()
