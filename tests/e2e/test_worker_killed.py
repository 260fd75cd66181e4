"""A worker process killed with SIGKILL in the middle of a job: the job completes exactly once.

Real processes on a fresh database: `cmms serve` (API and scheduler, no in-process workers) and
`cmms worker` processes. The first worker is killed while it streams a 100k-row export; it stops
beating, the scheduler's sweeper hands the job out again, a second worker runs it from the start
and the result is one complete file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.realtime_support import create_database, drop_database, free_port, superuser_sql

ROWS = 100_000
PASSWORD = "killed-worker-pass"


@pytest.fixture
def database() -> Iterator[str]:
    name, dsn = create_database("cmms_kill")
    try:
        yield dsn
    finally:
        drop_database(name)


def env_for(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    env.update(
        CMMS_DATABASE_URL=dsn,
        CMMS_REDIS_URL="redis://127.0.0.1:6379/9",
        CMMS_JWT_SECRET="kill-test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        CMMS_LOG_LEVEL="WARNING",
        CMMS_JOBS_WORKERS_IN_SERVE="false",
        CMMS_JOBS_HEARTBEAT_EVERY="0.5",
        CMMS_JOBS_STALE_AFTER="3",
        CMMS_JOBS_SCHEDULER_TICK="1",
    )
    return env


async def job_state(dsn: str, job_id: int) -> dict[str, Any]:
    rows = await superuser_sql(dsn, "SELECT status, progress, attempts, result_path FROM jobs WHERE id = %s", (job_id,))
    status, progress, attempts, path = rows[0]
    return {"status": status, "progress": progress, "attempts": attempts, "path": path}


async def test_a_killed_worker_s_job_completes_exactly_once(database: str, tmp_path: Path) -> None:
    env = env_for(database)
    cli = [sys.executable, "-m", "cmms", "--data-dir", str(tmp_path / "d")]
    subprocess.run(["redis-cli", "-n", "9", "DEL", "cmms:jobs", "cmms:jobs:delayed"], check=False, capture_output=True)
    subprocess.run([*cli, "tenant", "create", "kill"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "user", "create", "--tenant", "kill", "--email", "m@kill.io", "--role", "manager", "--password-stdin"],
        input=PASSWORD.encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    await superuser_sql(
        database,
        "INSERT INTO work_orders (tenant_id, number, title, status)"
        " SELECT 1, g, 'Killed worker order ' || g, 'open' FROM generate_series(1, %s) g",
        (ROWS,),
    )
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(*args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*cli, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    try:
        spawn("serve", "--port", str(port))
        first = spawn("worker", "--concurrency", "1")
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(base + "/health/ready") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            async with session.post(
                base + "/api/v1/auth/login", json={"tenant": "kill", "email": "m@kill.io", "password": PASSWORD}
            ) as r:
                token = (await r.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            async with session.post(
                base + "/api/v1/jobs", headers=headers, json={"kind": "exports", "params": {"entity": "orders"}}
            ) as r:
                assert r.status == 202, await r.text()
                job_id = (await r.json())["id"]

            for _ in range(600):  # wait until the export is well under way
                state = await job_state(database, job_id)
                if state["status"] == "running" and state["progress"] > 0.05:
                    break
                await asyncio.sleep(0.05)
            assert state["status"] == "running" and state["attempts"] == 1, state
            first.send_signal(signal.SIGKILL)
            first.wait(10)

            spawn("worker", "--concurrency", "1")
            for _ in range(1200):
                state = await job_state(database, job_id)
                if state["status"] in ("completed", "failed"):
                    break
                await asyncio.sleep(0.05)
            assert state["status"] == "completed", state
            assert state["attempts"] == 2  # the killed attempt and the one that finished

            async with session.get(f"{base}/api/v1/jobs/{job_id}/result", headers=headers) as r:
                assert r.status == 200
                lines = (await r.read()).decode().splitlines()
            assert len(lines) == ROWS + 1  # header + every order, once
            numbers = {line.split(",")[1] for line in lines[1:]}
            assert len(numbers) == ROWS
            assert state["path"] == f"job-{job_id}.csv"  # the download's name; the bytes are in the file store
            assert [p.name for p in (tmp_path / "d").rglob(f"*job-{job_id}*")] == []  # no part file left on disk
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
