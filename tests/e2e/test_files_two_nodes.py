"""Two `cmms serve` nodes and a `cmms worker`, each on a data directory the others cannot read,
as on three machines: an export enqueued on node A and run by the worker downloads, identical,
from node B, because job results live in the file store (PostgreSQL here), not on a node's disk.

Each process starts in its own mount namespace (`unshare -m`, as root) in which the other two
data directories are covered by an empty tmpfs; the test checks that through /proc/<pid>/root
before relying on it. They share one fresh PostgreSQL database, Redis database 1 and the JWT
secret. Tenants and users are made in-process with the services over the same database.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

import cmms
from cmms.config import load_settings
from cmms.files.base import read_all
from cmms.runtime import Runtime, open_runtime
from tests.integration.realtime_support import JWT_SECRET, create_database, drop_database, free_port, http, redis_url
from tests.integration.support import Api, Tenant, make_tenant, ok

REDIS_DB = 1
REPO = Path(cmms.__file__).resolve().parents[1]
MARKER = "only-on-this-machine"

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root (unshare -m)"),
]


@dataclass
class Machine:
    name: str
    data_dir: Path
    hidden: list[Path]  # the other machines' data directories, covered inside this one's namespace
    log: Path
    port: int | None = None  # None: a worker, no HTTP
    proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        command = ["serve", "--host", "127.0.0.1", "--port", str(self.port)] if self.port else ["worker"]
        cmms_line = shlex.join([sys.executable, "-m", "cmms", "--data-dir", str(self.data_dir), *command])
        covers = "".join(f"mount -t tmpfs none {shlex.quote(str(p))} && " for p in self.hidden)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["unshare", "-m", "--propagation", "private", "sh", "-c", f"{covers}exec {cmms_line}"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def sees(self, path: Path) -> list[str]:
        """What this machine's process sees in `path` (through its own mount namespace)."""
        assert self.proc is not None
        return sorted(os.listdir(f"/proc/{self.proc.pid}/root{path}"))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"


@dataclass
class Cluster:
    rt: Runtime
    machines: dict[str, Machine]
    sessions: dict[str, aiohttp.ClientSession]

    def api(self, name: str, token: str) -> Api:
        return Api(self.sessions[name], token)  # type: ignore[arg-type]

    def logs(self) -> str:
        return "\n".join(f"== {m.name} ==\n{m.tail()}" for m in self.machines.values())


async def _ready(session: aiohttp.ClientSession, machine: Machine, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert machine.proc is not None
        if machine.proc.poll() is not None:
            raise AssertionError(f"{machine.name} exited:\n{machine.tail()}")
        try:
            async with session.get("/health/ready") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{machine.name} not ready:\n{machine.tail()}")


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    name, dsn = create_database("cmms_e2e_files")
    base = tmp_path_factory.mktemp("machines")
    dirs = {key: base / key for key in ("A", "B", "W")}
    for key, folder in dirs.items():
        folder.mkdir()
        (folder / MARKER).write_text(key)
    machines = {
        key: Machine(
            key,
            folder,
            [d for k, d in dirs.items() if k != key],
            base / f"{key}.log",
            port=None if key == "W" else free_port(),
        )
        for key, folder in dirs.items()
    }
    sessions: dict[str, aiohttp.ClientSession] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_")}
    env.update(
        CMMS_DATABASE_URL=dsn,
        CMMS_REDIS_URL=redis_url(REDIS_DB),
        CMMS_JWT_SECRET=JWT_SECRET,
        CMMS_JOBS_WORKERS_IN_SERVE="false",  # only W runs jobs
        CMMS_JOBS_SCHEDULER_IN_SERVE="false",
        CMMS_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
    )
    settings = load_settings(
        env={},
        database_url=dsn,
        redis_url=redis_url(REDIS_DB),
        data_dir=str(base / "tests"),
        jwt_secret=JWT_SECRET,
        database_pool_min=1,
    )
    try:
        async with open_runtime(settings) as rt:  # migrations before the processes start
            for machine in machines.values():
                machine.start(env)
            for key in ("A", "B"):
                sessions[key] = http(f"http://127.0.0.1:{machines[key].port}")
            try:
                await asyncio.gather(*(_ready(sessions[k], machines[k]) for k in ("A", "B")))
                yield Cluster(rt, machines, sessions)
            finally:
                for machine in machines.values():
                    machine.stop()
                for session in sessions.values():
                    await session.close()
    finally:
        for machine in machines.values():
            machine.stop()
        drop_database(name)


async def test_each_machine_sees_only_its_own_data_directory(cluster: Cluster) -> None:
    for machine in cluster.machines.values():
        assert MARKER in machine.sees(machine.data_dir), cluster.logs()
        for other in machine.hidden:
            assert machine.sees(other) == [], f"{machine.name} can read {other}"


async def test_an_export_from_node_a_run_by_the_worker_downloads_identical_from_node_b(cluster: Cluster) -> None:
    tenant: Tenant = await make_tenant(cluster.rt, cluster.sessions["A"], {"manager": "manager"})  # type: ignore[arg-type]
    token = tenant["manager"].token
    assert token is not None
    a, b = cluster.api("A", token), cluster.api("B", token)
    for i in range(30):
        ok(await a.post("/api/v1/orders", {"title": f"Order {i} for the two-node export"}), 201)
    job = ok(await a.post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    deadline = time.monotonic() + 60
    while (state := ok(await b.get(f"/api/v1/jobs/{job['id']}")))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, cluster.logs()
        await asyncio.sleep(0.2)
    assert state["status"] == "completed", (state, cluster.logs())
    from_b = await b.get(f"/api/v1/jobs/{job['id']}/result")
    from_a = await a.get(f"/api/v1/jobs/{job['id']}/result")
    assert from_b.status == from_a.status == 200, (from_b, cluster.logs())
    async with cluster.rt.deps.pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute("SELECT set_config('cmms.tenant_id', %s, false)", (str(tenant.id),))
        await cur.execute("SELECT result_key FROM jobs WHERE id = %s", (job["id"],))
        (key,) = await cur.fetchone()
        await cur.execute("SELECT set_config('cmms.tenant_id', '', false)")
    stored = await read_all(cluster.rt.deps.files, tenant.id, key)
    digest = hashlib.sha256(stored).hexdigest()
    assert hashlib.sha256(from_b.text.encode()).hexdigest() == digest
    assert hashlib.sha256(from_a.text.encode()).hexdigest() == digest
    assert from_b.text.count("two-node export") == 30
    for machine in cluster.machines.values():  # no result file on any machine's disk
        assert not [p for p in machine.data_dir.rglob(f"*job-{job['id']}*")], machine.name
