"""Checklist benchmark: what recording one item costs over HTTP, per item type, against a plain GET.

Starts `cmms serve` on a fresh database (the machine's PostgreSQL and Redis), seeds a procedure with
one item of every recordable type on an order, then records the items in turn (one request at a
time, interleaved so machine noise hits every type alike) and prints p50/p90/p99 in milliseconds.
A recording is one transaction: the order FOR SHARE, the item FOR UPDATE, the write, an audit row
and an outbox event; a meter item also inserts a meter reading and checks its limits.

    python scripts/bench_checklist.py [--rounds 300]
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
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
from psycopg2.extensions import make_dsn

ADMIN_DSN = os.environ.get("CMMS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "bench-password-1"
ITEMS = [
    {"label": "checkbox", "type": "checkbox"},
    {"label": "pass_fail", "type": "pass_fail"},
    {"label": "number", "type": "number", "unit": "mm/s", "min": 0, "max": 4.5},
    {"label": "text", "type": "text"},
    {"label": "choice", "type": "choice", "options": ["low", "ok", "high"]},
    {"label": "meter", "type": "meter", "meter": "hours", "unit": "h"},
]


def values(label: str, i: int) -> Any:
    """A new in-range value each round (a re-sent meter value would skip its reading)."""
    return {
        "checkbox": i % 2 == 0,
        "pass_fail": ("pass", "flag")[i % 2],
        "number": round(1 + (i % 30) / 10, 1),
        "text": f"round {i}: all good",
        "choice": ("low", "ok", "high")[i % 3],
        "meter": 1000 + i,
    }[label]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def admin(sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql, params)
    conn.close()


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


async def measure(base: str, tenant: str, rounds: int) -> dict[str, list[float]]:
    async with aiohttp.ClientSession() as anon:
        await ready(anon, base)
        login = {"tenant": tenant, "email": "m@bench.io", "password": PASSWORD}
        token = (await call(anon, "POST", f"{base}/api/v1/auth/login", login))["access_token"]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as s:
        me = await call(s, "GET", f"{base}/api/v1/me")
        plant = await call(s, "POST", f"{base}/api/v1/plants", {"name": "Bench plant"}, 201)
        asset_body = {"name": "Pump", "plant_id": plant["id"], "meters": [{"name": "hours", "unit": "h"}]}
        asset = await call(s, "POST", f"{base}/api/v1/assets", asset_body, 201)
        proc = await call(s, "POST", f"{base}/api/v1/procedures", {"name": "Bench", "items": ITEMS}, 201)
        order_body = {"title": "Bench order", "asset_id": asset["id"], "assignee_id": me["user"]["id"]}
        order = await call(s, "POST", f"{base}/api/v1/orders", order_body, 201)
        checklist = await call(
            s, "POST", f"{base}/api/v1/orders/{order['id']}/checklist", {"procedure_id": proc["id"]}, 201
        )
        items = {i["label"]: i["id"] for i in checklist["items"]}
        samples: dict[str, list[float]] = {label: [] for label in [*items, "GET order (baseline)"]}
        for i in range(rounds + 20):
            labels = list(samples) if i % 2 == 0 else list(reversed(samples))
            for label in labels:
                started = time.perf_counter()
                if label in items:
                    url = f"{base}/api/v1/orders/{order['id']}/checklist/items/{items[label]}"
                    await call(s, "PATCH", url, {"value": values(label, i)})
                else:
                    await call(s, "GET", f"{base}/api/v1/orders/{order['id']}")
                if i >= 20:  # warm-up rounds are discarded
                    samples[label].append((time.perf_counter() - started) * 1000)
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    db = f"cmms_bench_{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="cmms-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "CMMS_DATABASE_URL": make_dsn(ADMIN_DSN, dbname=db),
        "CMMS_REDIS_URL": REDIS_URL,
        "CMMS_JWT_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "CMMS_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "cmms", "--data-dir", str(tmp)]
    tenant = f"bench{uuid.uuid4().hex[:6]}"
    with ExitStack() as stack:
        admin(f"CREATE DATABASE {db}")
        stack.callback(admin, "DROP DATABASE IF EXISTS " + db)
        stack.callback(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
        stack.callback(shutil.rmtree, tmp, True)
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([*cli, "tenant", "create", tenant], env=env, check=True, capture_output=True)
        user = ["user", "create", "--tenant", tenant, "--email", "m@bench.io", "--role", "manager", "--password-stdin"]
        subprocess.run([*cli, *user], input=PASSWORD.encode(), env=env, check=True, capture_output=True)
        proc = subprocess.Popen(
            [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        stack.callback(proc.wait, 15)
        stack.callback(proc.send_signal, signal.SIGTERM)
        samples = asyncio.run(measure(f"http://127.0.0.1:{port}", tenant, args.rounds))
    print(f"{'request':<24} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for label, values_ in samples.items():
        name = label if label.startswith("GET") else f"PATCH item: {label}"
        p50, p90, p99 = (percentile(values_, q) for q in (0.5, 0.9, 0.99))
        print(f"{name:<24} {len(values_):>5} {p50:>8.2f} {p90:>8.2f} {p99:>8.2f}")
    every = [v for label, vs in samples.items() if not label.startswith("GET") for v in vs]
    print(
        f"{'PATCH item: all types':<24} {len(every):>5} {percentile(every, 0.5):>8.2f}"
        f" {percentile(every, 0.9):>8.2f} {percentile(every, 0.99):>8.2f}"
    )


if __name__ == "__main__":
    main()
