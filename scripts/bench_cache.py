"""Cache benchmark: a plant with 1,000 assets, cache on vs off, and cached GET vs a bare handler.

Starts, side by side on one fresh database: `cmms serve` with the cache on, `cmms serve` with
the cache off, and a bare aiohttp app returning a constant JSON document. Latency is measured
with alternating requests (on, off, on, off...) so machine noise hits both equally; throughput
with wrk (`apt-get install wrk`), alternating runs, reporting medians.

    python scripts/bench_cache.py [--assets 1000] [--rounds 300] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, closing
from pathlib import Path

import aiohttp
import psycopg2
from psycopg2.extensions import make_dsn

ADMIN_DSN = os.environ.get("CMMS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PASSWORD = "bench-password-1"
BARE_APP = """
import sys
from aiohttp import web
DOC = {"id": 1, "name": "Pump 1", "plant_id": 1, "status": "operational", "criticality": "medium"}
async def handler(request):
    return web.json_response(DOC)
app = web.Application()
app.router.add_get("/json", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def create_database() -> str:
    name = f"cmms_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return name


def drop_database(name: str) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
    conn.close()


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


async def seed(session: aiohttp.ClientSession, base: str, token: str, count: int) -> tuple[int, int]:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{base}/api/v1/plants", json={"name": "Bench plant"}, headers=headers) as r:
        plant = (await r.json())["id"]
    sem = asyncio.Semaphore(8)

    async def one(i: int) -> int:
        async with (
            sem,
            session.post(
                f"{base}/api/v1/assets",
                headers=headers,
                json={"name": f"Asset {i}", "plant_id": plant, "code": f"B-{i:05d}", "type": "pump"},
            ) as r,
        ):
            return int((await r.json())["id"])

    ids = await asyncio.gather(*(one(i) for i in range(count)))
    return plant, ids[0]


async def latency(
    session: aiohttp.ClientSession, bases: dict[str, str], path: str, token: str, rounds: int
) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {token}"}
    samples: dict[str, list[float]] = {k: [] for k in bases}
    for i in range(rounds + 20):
        order = list(bases.items()) if i % 2 == 0 else list(reversed(bases.items()))
        for name, base in order:
            started = time.perf_counter()
            async with session.get(base + path, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            if i >= 20:  # warm-up rounds are discarded
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def wrk(url: str, seconds: int, token: str | None) -> float:
    cmd = ["wrk", "-t1", "-c32", f"-d{seconds}s", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} failed responses")
    assert match, out
    return float(match.group(1))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--limit", type=int, default=200, help="page size of the list (API maximum 200)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for the throughput part: apt-get install wrk")

    db = create_database()
    tmp = Path(tempfile.mkdtemp(prefix="cmms-bench-"))
    ports = {"on": free_port(), "off": free_port(), "bare": free_port()}
    env = {
        **os.environ,
        "CMMS_DATABASE_URL": make_dsn(ADMIN_DSN, dbname=db),
        "CMMS_REDIS_URL": REDIS_URL,
        "CMMS_JWT_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "CMMS_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "cmms", "--data-dir", str(tmp)]
    with ExitStack() as stack:
        stack.callback(drop_database, db)
        stack.callback(shutil.rmtree, tmp, True)
        subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
        tenant = f"bench{uuid.uuid4().hex[:6]}"
        subprocess.run([*cli, "tenant", "create", tenant], env=env, check=True, capture_output=True)
        subprocess.run(
            [
                *cli,
                "user",
                "create",
                "--tenant",
                tenant,
                "--email",
                "m@bench.io",
                "--role",
                "manager",
                "--password-stdin",
            ],
            input=PASSWORD.encode(),
            env=env,
            check=True,
            capture_output=True,
        )
        for name, enabled in (("on", "true"), ("off", "false")):
            proc = start([*cli, "serve", "--port", str(ports[name])], {**env, "CMMS_CACHE_ENABLED": enabled})
            stack.callback(stop, proc)
        stack.callback(stop, start([sys.executable, "-c", BARE_APP, str(ports["bare"])], env))
        bases = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
        async with aiohttp.ClientSession() as session:
            for name in ("on", "off"):
                await wait_ready(session, bases[name] + "/health/ready")
            await wait_ready(session, bases["bare"] + "/json")
            async with session.post(
                bases["on"] + "/api/v1/auth/login", json={"tenant": tenant, "email": "m@bench.io", "password": PASSWORD}
            ) as r:
                token = (await r.json())["access_token"]
            plant, asset = await seed(session, bases["on"], token, args.assets)
            list_path = f"/api/v1/plants/{plant}/assets?limit={args.limit}"
            samples = await latency(session, {"on": bases["on"], "off": bases["off"]}, list_path, token, args.rounds)
        cached_rps, bare_rps = [], []
        for _ in range(3):
            cached_rps.append(wrk(f"{bases['on']}/api/v1/assets/{asset}", args.seconds, token))
            bare_rps.append(wrk(f"{bases['bare']}/json", args.seconds, None))

    on, off = samples["on"], samples["off"]
    print(
        f"\nPlant with {args.assets} assets; GET /api/v1/plants/{{id}}/assets?limit={args.limit}; "
        f"{args.rounds} alternating requests each\n"
    )
    print("| list endpoint | p50 ms | p99 ms |")
    print("|---|---:|---:|")
    print(f"| cache on | {statistics.median(on):.2f} | {percentile(on, 0.99):.2f} |")
    print(f"| cache off | {statistics.median(off):.2f} | {percentile(off, 0.99):.2f} |")
    print(
        f"| off / on | {statistics.median(off) / statistics.median(on):.1f}x | "
        f"{percentile(off, 0.99) / percentile(on, 0.99):.1f}x |"
    )
    print(f"\nThroughput, wrk -t1 -c32 -d{args.seconds}s, 3 alternating runs, median req/s\n")
    print("| endpoint | req/s (runs) | median |")
    print("|---|---|---:|")
    print(
        f"| cached GET /api/v1/assets/{{id}} | {', '.join(f'{x:.0f}' for x in cached_rps)} | "
        f"{statistics.median(cached_rps):.0f} |"
    )
    print(
        f"| bare aiohttp JSON handler | {', '.join(f'{x:.0f}' for x in bare_rps)} | {statistics.median(bare_rps):.0f} |"
    )
    print(f"| cached / bare | | {statistics.median(cached_rps) / statistics.median(bare_rps):.2f}x |")


if __name__ == "__main__":
    asyncio.run(main())
