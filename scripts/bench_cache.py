"""Cache benchmark: a plant with 1,000 assets, cache on vs off, and cached GET vs a bare handler.

Starts, side by side on one fresh database: `cmms serve --workers 1` with the cache on, the same
with the cache off, and a bare aiohttp app (one process too) returning the very bytes the cached
`GET /api/v1/assets/{id}` answers. The product runs with its default log level, so access logs
are written (to /dev/null) as in production. Latency is measured with alternating requests (on,
off, on, off...) on one connection so machine noise hits both equally; throughput with wrk
(`apt-get install wrk`), alternating runs, reporting medians. `--profile FILE` records the cached
server with py-spy during one more wrk run and prints where its time goes.

    python scripts/bench_cache.py [--assets 1000] [--rounds 300] [--seconds 8] [--profile out.txt]
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
BODY = open(sys.argv[2], "rb").read()
async def handler(request):
    return web.Response(body=BODY, content_type="application/json")
app = web.Application()
app.router.add_get("/json", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def profile(pid: int, url: str, seconds: int, token: str, out: Path) -> str:
    """py-spy over one wrk run: the functions holding the most samples, own time and with callees."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out.with_suffix(".folded")
    rec = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    wrk(url, seconds, token)
    rec.wait(60)
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r" \((.*/)?([^/]*)\)", r" (\2)", f) for f in stack.split(";")]
        n = int(count)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    lines = [f"py-spy, {samples} samples of the cached server under wrk", "", "| own % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | {f} |" for f, n in sorted(own.items(), key=lambda x: -x[1])[:25]]
    lines += ["", "| with callees % | function |", "|---:|---|"]
    lines += [f"| {100 * n / samples:.1f} | {f} |" for f, n in sorted(total.items(), key=lambda x: -x[1])[:40]]
    out.write_text("\n".join(lines) + "\n")
    return str(out)


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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_cpu(url: str, seconds: int, token: str | None, pid: int) -> tuple[float, float]:
    """Requests/s, and the server's CPU microseconds per request: the figure machine noise hurts least."""
    before = cpu_seconds(pid)
    rps = wrk(url, seconds, token)
    return rps, (cpu_seconds(pid) - before) * 1e6 / (rps * seconds)


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
    parser.add_argument("--profile", type=Path, help="write a py-spy profile of the cached server here")
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
        servers = {}
        for name, enabled in (("on", "true"), ("off", "false")):
            proc = start(
                [*cli, "serve", "--workers", "1", "--port", str(ports[name])], {**env, "CMMS_CACHE_ENABLED": enabled}
            )
            stack.callback(stop, proc)
            servers[name] = proc
        bases = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
        async with aiohttp.ClientSession() as session:
            for name in ("on", "off"):
                await wait_ready(session, bases[name] + "/health/ready")
            async with session.post(
                bases["on"] + "/api/v1/auth/login", json={"tenant": tenant, "email": "m@bench.io", "password": PASSWORD}
            ) as r:
                token = (await r.json())["access_token"]
            plant, asset = await seed(session, bases["on"], token, args.assets)
            list_path = f"/api/v1/plants/{plant}/assets?limit={args.limit}"
            samples = await latency(session, {"on": bases["on"], "off": bases["off"]}, list_path, token, args.rounds)
            async with session.get(
                f"{bases['on']}/api/v1/assets/{asset}", headers={"Authorization": f"Bearer {token}"}
            ) as r:
                (tmp / "asset.json").write_bytes(await r.read())
            bare = start([sys.executable, "-c", BARE_APP, str(ports["bare"]), str(tmp / "asset.json")], env)
            stack.callback(stop, bare)
            await wait_ready(session, bases["bare"] + "/json")
        cached_rps, bare_rps, cached_cpu, bare_cpu = [], [], [], []
        for _ in range(3):
            rps, cpu = wrk_cpu(f"{bases['on']}/api/v1/assets/{asset}", args.seconds, token, servers["on"].pid)
            cached_rps.append(rps)
            cached_cpu.append(cpu)
            rps, cpu = wrk_cpu(f"{bases['bare']}/json", args.seconds, None, bare.pid)
            bare_rps.append(rps)
            bare_cpu.append(cpu)
        if args.profile:
            url = f"{bases['on']}/api/v1/assets/{asset}"
            print("profile:", profile(servers["on"].pid, url, args.seconds, token, args.profile), file=sys.stderr)

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
    print("\nServer CPU per request during those runs (median µs; lower is better)\n")
    print("| endpoint | µs (runs) | median |")
    print("|---|---|---:|")
    for name, cpu in (("cached GET /api/v1/assets/{id}", cached_cpu), ("bare aiohttp JSON handler", bare_cpu)):
        print(f"| {name} | {', '.join(f'{x:.0f}' for x in cpu)} | {statistics.median(cpu):.0f} |")
    print(f"| bare / cached | | {statistics.median(bare_cpu) / statistics.median(cached_cpu):.2f}x |")


if __name__ == "__main__":
    asyncio.run(main())
