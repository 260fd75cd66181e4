"""Files benchmark: upload and download through a real `cmms serve` on each file-store backend.

For 100 KiB and 10 MiB files it reports throughput (MiB/s over the median request) and p50
latency of `POST /orders/{id}/attachments` and `GET /files/{id}` on PostgreSQL and on S3 (moto
in server mode: a real S3 implementation running locally, so its own speed is part of the
figure), beside `cp` of the same bytes on this disk as the floor. Then it measures the daemon's
resident memory (every process of it, sampled every 10 ms) while a 30 MiB file goes up and comes
down again, against its idle size.

Needs the machine's PostgreSQL (CMMS_TEST_DATABASE_URL, an administrator DSN) and Redis
(CMMS_BENCH_REDIS_URL, default database 2, which it uses as its own):

    .venv/bin/python scripts/bench_files.py [--small-runs 30] [--large-runs 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import psycopg2
from psycopg2 import sql
from psycopg2.extensions import make_dsn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cmms.config import load_settings  # noqa: E402
from cmms.domain.model import UserIn  # noqa: E402
from cmms.domain.roles import Actor, Role  # noqa: E402
from cmms.runtime import open_runtime  # noqa: E402
from cmms.services import tenants, users  # noqa: E402

ADMIN_DSN = os.environ.get("CMMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/2")
SECRET = "bench-files-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "bench-files-password"
KIB, MIB = 1024, 1024 * 1024
SIZES = {"100 KiB": 100 * KIB, "10 MiB": 10 * MIB}


def _admin(statement: sql.Composable) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """`cmms serve` on its own port and data dir, on the bench database."""

    def __init__(self, name: str, dsn: str, base: Path, files_env: dict[str, str]) -> None:
        self.name, self.port = name, _free_port()
        self.data_dir = base / name
        self.data_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
        env.update(
            files_env,
            CMMS_DATABASE_URL=dsn,
            CMMS_REDIS_URL=REDIS_URL,
            CMMS_JWT_SECRET=SECRET,
            CMMS_LOG_FORMAT="json",
            CMMS_LOG_LEVEL="WARNING",
            CMMS_FILES_MAX_BYTES=str(64 * MIB),
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cmms", "--data-dir", str(self.data_dir), "serve", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(self.data_dir / "log").open("wb"),
        )
        self.url = f"http://127.0.0.1:{self.port}"

    async def ready(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{self.url}/health/ready") as r:
                    if r.status == 200:
                        await asyncio.sleep(1)  # let every process of the daemon finish starting
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready: {(self.data_dir / 'log').read_text()[-2000:]}")

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _stream(data: bytes, piece: int = 256 * KIB) -> AsyncIterator[bytes]:
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


async def upload(session: aiohttp.ClientSession, url: str, token: str, data: bytes, *, streamed: bool = False) -> int:
    form = aiohttp.FormData()
    form.add_field(
        "file", _stream(data) if streamed else data, filename="bench.bin", content_type="application/octet-stream"
    )
    async with session.post(url, data=form, headers={"Authorization": f"Bearer {token}"}) as r:
        body = await r.json()
        assert r.status == 201, body
        return int(body["id"])


async def download(session: aiohttp.ClientSession, url: str, token: str) -> int:
    n = 0
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 200, await r.text()
        async for chunk in r.content.iter_chunked(256 * KIB):
            n += len(chunk)
    return n


def _unique(size: int) -> bytes:
    return uuid.uuid4().bytes + os.urandom(size - 16)


async def bench_daemon(
    daemon: Daemon, session: aiohttp.ClientSession, token: str, order: int, runs: dict[str, int]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, size in SIZES.items():
        ups, downs = [], []
        for _ in range(runs[label]):
            data = _unique(size)  # distinct bytes: no deduplication
            t = time.perf_counter()
            file_id = await upload(session, f"{daemon.url}/api/v1/orders/{order}/attachments", token, data)
            ups.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert await download(session, f"{daemon.url}/api/v1/files/{file_id}", token) == size
            downs.append(time.perf_counter() - t)
        out[label] = {"up_p50": statistics.median(ups), "down_p50": statistics.median(downs), "size": size}
    return out


def bench_cp(runs: dict[str, int], folder: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label, size in SIZES.items():
        src = folder / "src.bin"
        src.write_bytes(os.urandom(size))
        times = []
        for i in range(runs[label]):
            dst = folder / f"dst-{i}.bin"
            t = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            times.append(time.perf_counter() - t)
            dst.unlink()
        out[label] = {"p50": statistics.median(times), "size": size}
    return out


async def rss_during(daemon: Daemon, session: aiohttp.ClientSession, token: str, order: int) -> dict[str, float]:
    """Idle RSS of each daemon process, and the most any one grew during a 30 MiB upload and download."""
    procs = daemon.processes()
    await asyncio.sleep(2)
    idle = {p.pid: p.memory_info().rss for p in procs}
    peak = dict(idle)
    sampling = True

    async def sample() -> None:
        while sampling:
            for p in procs:
                try:
                    peak[p.pid] = max(peak[p.pid], p.memory_info().rss)
                except psutil.Error:
                    pass
            await asyncio.sleep(0.01)

    data = _unique(30 * MIB)
    task = asyncio.create_task(sample())
    file_id = await upload(session, f"{daemon.url}/api/v1/orders/{order}/attachments", token, data, streamed=True)
    up = dict(peak)
    peak.update(idle)
    await download(session, f"{daemon.url}/api/v1/files/{file_id}", token)
    sampling = False
    await task
    down = peak
    return {
        "idle_mib": max(idle.values()) / MIB,
        "up_growth_mib": max(up[p] - idle[p] for p in idle) / MIB,
        "down_growth_mib": max(down[p] - idle[p] for p in idle) / MIB,
        "processes": len(idle),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-runs", type=int, default=30)
    parser.add_argument("--large-runs", type=int, default=8)
    args = parser.parse_args()
    runs = {"100 KiB": args.small_runs, "10 MiB": args.large_runs}
    name = f"cmms_bench_files_{uuid.uuid4().hex[:8]}"
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_dsn(ADMIN_DSN, dbname=name)
    base = Path(tempfile.mkdtemp(prefix="bench-files-"))
    from moto.server import ThreadedMotoServer

    moto_port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    daemons: list[Daemon] = []
    try:
        settings = load_settings(
            env={}, database_url=dsn, redis_url=REDIS_URL, data_dir=str(base / "bench"), jwt_secret=SECRET
        )
        async with open_runtime(settings) as rt:
            tenant = await tenants.create(rt.deps, f"bench-{uuid.uuid4().hex[:6]}")
            operator = Actor(int(tenant["id"]), None, Role.ADMIN)
            email = "bench@example.com"
            await users.create(
                rt.deps, operator, UserIn(email=email, name="Bench", role=Role.MANAGER, password=PASSWORD)
            )
        import boto3

        boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{moto_port}",
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
        ).create_bucket(Bucket="bench")
        s3_env = {
            "CMMS_FILES_S3_URL": f"http://127.0.0.1:{moto_port}",
            "CMMS_FILES_S3_BUCKET": "bench",
            "CMMS_FILES_S3_ACCESS_KEY": "k",
            "CMMS_FILES_S3_SECRET_KEY": "s",
        }
        results: dict[str, Any] = {}
        rss: dict[str, Any] = {}
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for backend, env in (("postgres", {}), ("s3", s3_env)):
                daemon = Daemon(backend, dsn, base, env)
                daemons.append(daemon)
                await daemon.ready(session)
                async with session.post(
                    f"{daemon.url}/api/v1/auth/login",
                    json={"tenant": tenant["name"], "email": email, "password": PASSWORD},
                ) as r:
                    token = (await r.json())["access_token"]
                async with session.post(
                    f"{daemon.url}/api/v1/orders", json={"title": "bench"}, headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    order = (await r.json())["id"]
                rss[backend] = await rss_during(daemon, session, token, order)
                results[backend] = await bench_daemon(daemon, session, token, order, runs)
                daemon.stop()
        cp = bench_cp(runs, base)
    finally:
        for daemon in daemons:
            daemon.stop()
        moto.stop()
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(base, ignore_errors=True)

    print(
        f"\nfiles through cmms serve (runs: {runs['100 KiB']} x 100 KiB, {runs['10 MiB']} x 10 MiB; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})\n"
    )
    print("| size | backend | upload MiB/s | upload p50 | download MiB/s | download p50 |")
    print("|---|---|---:|---:|---:|---:|")
    for label, size in SIZES.items():
        for backend in ("postgres", "s3"):
            r = results[backend][label]
            print(
                f"| {label} | {backend} | {size / MIB / r['up_p50']:.1f} | {r['up_p50'] * 1000:.1f} ms | "
                f"{size / MIB / r['down_p50']:.1f} | {r['down_p50'] * 1000:.1f} ms |"
            )
        c = cp[label]
        print(f"| {label} | `cp` (floor) | {size / MIB / c['p50']:.1f} | {c['p50'] * 1000:.1f} ms | | |")
    print("\ndaemon memory during one 30 MiB upload and download (largest growth of any of its processes):\n")
    print("| backend | processes | idle RSS | growth during upload | growth during download |")
    print("|---|---:|---:|---:|---:|")
    for backend, m in rss.items():
        print(
            f"| {backend} | {m['processes']} | {m['idle_mib']:.1f} MiB | {m['up_growth_mib']:.1f} MiB | "
            f"{m['down_growth_mib']:.1f} MiB |"
        )


if __name__ == "__main__":
    asyncio.run(main())
