"""What an API key costs on a cached read, beside a user's access token.

Starts `cmms serve` (one process) on private PostgreSQL and Redis servers, creates an asset and
an API key, then alternates `GET /api/v1/assets/{id}` with the access token and with the key on
one keep-alive connection each, so machine noise hits both alike. Prints p50/p99 per credential
and the ratio of the medians.

    python scripts/bench_api_keys.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.faults.conftest import new_database
from tests.faults.daemon import PASSWORD, Daemon, login
from tests.faults.servers import PrivatePostgres, PrivateRedis


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="cmms-bench-keys-", dir="/tmp"))
    root.chmod(0o755)
    pg, redis = PrivatePostgres(root / "pg"), PrivateRedis(root / "redis")
    pg.start()
    redis.start()
    daemon = Daemon(root / "data", new_database(pg), redis.url, extra_env={"CMMS_LOG_LEVEL": "WARNING"})
    try:
        await daemon.start()
        tenant = f"bench{uuid.uuid4().hex[:6]}"
        daemon.cli("tenant", "create", tenant)
        daemon.cli("user", "create", "--tenant", tenant, "--email", "admin@bench.test", "--role", "admin",
                   "--password-stdin", stdin=PASSWORD + "\n")
        admin, _ = await login(daemon.url, tenant, "admin@bench.test")
        plant = await admin.ok("POST", "/api/v1/plants", {"name": "Bench"}, 201)
        asset = await admin.ok("POST", "/api/v1/assets", {"name": "Pump", "plant_id": plant["id"]}, 201)
        key = await admin.ok("POST", "/api/v1/api-keys", {"name": "bench", "role": "technician"}, 201)
        url = f"{daemon.url}/api/v1/assets/{asset['id']}"
        credentials = {"access token": admin.token, "API key": key["secret"]}
        timings: dict[str, list[float]] = {name: [] for name in credentials}
        sessions = {name: aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"})
                    for name, secret in credentials.items()}
        try:
            for i in range(rounds + 100):
                for name, session in sessions.items():
                    started = time.perf_counter()
                    async with session.get(url) as resp:
                        await resp.read()
                        assert resp.status == 200, resp.status
                    if i >= 100:  # warm-up: verified tokens and keys cached, the asset cached
                        timings[name].append(time.perf_counter() - started)
        finally:
            for session in sessions.values():
                await session.close()
        print(f"\nGET /api/v1/assets/{{id}} (cached), {rounds} alternating requests each, one connection each\n")
        print("| credential | p50 ms | p99 ms |")
        print("|---|---:|---:|")
        for name, values in timings.items():
            print(f"| {name} | {pct(values, 0.5):.2f} | {pct(values, 0.99):.2f} |")
        ratio = statistics.median(timings["API key"]) / statistics.median(timings["access token"])
        print(f"\nAPI key / access token, median latency: {ratio:.2f}x")
    finally:
        daemon.stop()
        redis.close()
        pg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
