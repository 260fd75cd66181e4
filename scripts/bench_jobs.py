"""Jobs benchmark: enqueue→start latency when idle, throughput with 1 and 2 workers, and the peak
memory of a 100k-row CSV export.

Runs on a fresh database on the local PostgreSQL: `cmms serve` without in-process workers, then
`cmms worker` processes. The "no-op" job is a cache-warming job on a tenant with no plants: a
handful of queries, so the numbers are the machinery's, not a processor's.

    python scripts/bench_jobs.py [--latency-jobs 100] [--throughput-jobs 400] [--export-rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, closing
from datetime import datetime
from pathlib import Path

import aiohttp
import psutil
import psycopg2
from psycopg2.extensions import make_dsn

ADMIN_DSN = os.environ.get("CMMS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
PASSWORD = "bench-password-1"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sql(dsn: str, query: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class Bench:
    def __init__(self, args: argparse.Namespace, stack: ExitStack) -> None:
        self.args = args
        self.stack = stack
        self.db = f"cmms_bench_{uuid.uuid4().hex[:8]}"
        sql(ADMIN_DSN, f"CREATE DATABASE {self.db}")
        stack.callback(self._drop)
        self.dsn = make_dsn(ADMIN_DSN, dbname=self.db)
        self.tmp = Path(tempfile.mkdtemp(prefix="cmms-bench-jobs-"))
        self.env = {
            **os.environ,
            "CMMS_DATABASE_URL": self.dsn,
            "CMMS_REDIS_URL": REDIS_URL,
            "CMMS_JWT_SECRET": "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            "CMMS_LOG_LEVEL": "WARNING",
            "CMMS_JOBS_WORKERS_IN_SERVE": "false",
            "CMMS_JOBS_SCHEDULER_IN_SERVE": "false",
            "CMMS_JOBS_CONCURRENCY": "8",
        }
        self.cli = [sys.executable, "-m", "cmms", "--data-dir", str(self.tmp)]
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _drop(self) -> None:
        sql(ADMIN_DSN, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (self.db,))
        sql(ADMIN_DSN, f"DROP DATABASE IF EXISTS {self.db}")

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*self.cli, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop() -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()

        self.stack.callback(stop)
        return proc

    def setup(self) -> None:
        subprocess.run([*self.cli, "migrate"], env=self.env, check=True, capture_output=True)
        subprocess.run([*self.cli, "tenant", "create", "bench"], env=self.env, check=True, capture_output=True)
        subprocess.run(
            [
                *self.cli,
                "user",
                "create",
                "--tenant",
                "bench",
                "--email",
                "m@bench.io",
                "--role",
                "manager",
                "--password-stdin",
            ],
            input=PASSWORD.encode(),
            env=self.env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["redis-cli", "-u", REDIS_URL, "DEL", "cmms:jobs", "cmms:jobs:delayed"], check=False, capture_output=True
        )
        self.spawn("serve", "--port", str(self.port))

    async def login(self, session: aiohttp.ClientSession) -> dict[str, str]:
        for _ in range(200):
            try:
                async with session.get(self.base + "/health/ready") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        async with session.post(
            self.base + "/api/v1/auth/login", json={"tenant": "bench", "email": "m@bench.io", "password": PASSWORD}
        ) as r:
            return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    async def enqueue(self, session: aiohttp.ClientSession, headers: dict[str, str], body: dict) -> tuple[int, float]:
        started = time.time()
        async with session.post(self.base + "/api/v1/jobs", json=body, headers=headers) as r:
            assert r.status == 202, await r.text()
            return int((await r.json())["id"]), started

    def rows(self, ids: list[int]) -> dict[int, tuple[str, datetime | None, datetime | None]]:
        found = sql(self.dsn, "SELECT id, status, started_at, finished_at FROM jobs WHERE id = ANY(%s)", (ids,))
        return {r[0]: (r[1], r[2], r[3]) for r in found}

    async def wait_done(self, ids: list[int], timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(s in ("completed", "failed") for s, _, _ in self.rows(ids).values()):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError("jobs did not finish")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-jobs", type=int, default=100)
    parser.add_argument("--throughput-jobs", type=int, default=400)
    parser.add_argument("--export-rows", type=int, default=100_000)
    args = parser.parse_args()
    noop = {"kind": "cache"}
    with ExitStack() as stack:
        b = Bench(args, stack)
        b.setup()
        async with aiohttp.ClientSession() as session:
            headers = await b.login(session)
            # enqueue -> start, idle: one worker, one job at a time
            w1 = b.spawn("worker")
            await asyncio.sleep(2)
            latencies = []
            for _ in range(args.latency_jobs):
                job_id, t0 = await b.enqueue(session, headers, noop)
                await b.wait_done([job_id], 30)
                started = b.rows([job_id])[job_id][1]
                assert started is not None
                latencies.append((started.timestamp() - t0) * 1000)
                await asyncio.sleep(0.02)
            # throughput with 1 then 2 workers
            throughput = {}
            for workers in (1, 2):
                if workers == 2:
                    w2 = b.spawn("worker")
                    await asyncio.sleep(2)

                # Enqueue from 16 concurrent clients so the queue, not the enqueuing, is the limit;
                # throughput is counted from the first job's start to the last job's finish.
                async def one(sem: asyncio.Semaphore) -> int:
                    async with sem:
                        return (await b.enqueue(session, headers, noop))[0]

                gate = asyncio.Semaphore(16)
                ids = list(await asyncio.gather(*(one(gate) for _ in range(args.throughput_jobs))))
                await b.wait_done(ids)
                rows = b.rows(ids).values()
                first = min(s.timestamp() for _, s, _ in rows if s)
                last = max(f.timestamp() for _, _, f in rows if f)
                throughput[workers] = args.throughput_jobs / (last - first)
            # export memory: 100k orders
            sql(b.dsn, "SELECT set_config('cmms.tenant_id', '1', false)")
            sql(
                b.dsn,
                "INSERT INTO work_orders (tenant_id, number, title, status)"
                " SELECT 1, g, 'Bench order ' || g, 'open' FROM generate_series(1000000, 1000000 + %s - 1) g",
                (args.export_rows,),
            )
            proc = psutil.Process(w1.pid)
            w2.send_signal(signal.SIGTERM)  # one worker left, so the export runs where we measure
            w2.wait(15)
            before = proc.memory_info().rss
            peak = before
            job_id, _ = await b.enqueue(session, headers, {"kind": "exports", "params": {"entity": "orders"}})
            while b.rows([job_id])[job_id][0] not in ("completed", "failed"):
                peak = max(peak, proc.memory_info().rss)
                await asyncio.sleep(0.02)
            status = b.rows([job_id])[job_id][0]
    print(f"\nJobs benchmark ({args.latency_jobs} idle enqueues; {args.throughput_jobs} no-op jobs per run)\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| enqueue→start p50 (idle, 1 worker) | {statistics.median(latencies):.1f} ms |")
    print(f"| enqueue→start p99 (idle, 1 worker) | {pct(latencies, 0.99):.1f} ms |")
    print(f"| no-op throughput, 1 worker | {throughput[1]:.0f} jobs/s |")
    print(f"| no-op throughput, 2 workers | {throughput[2]:.0f} jobs/s |")
    print(
        f"| {args.export_rows:,}-row CSV export: worker RSS growth (peak - before) | "
        f"{(peak - before) / 2**20:.1f} MiB ({status}) |"
    )


if __name__ == "__main__":
    asyncio.run(main())
