"""Fixtures of the fault suite: a private PostgreSQL cluster for the session, a private Redis and
a `cmms serve` per module, a tenant with one user per role. See tests/faults/servers.py."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from tests.faults.daemon import PASSWORD, Client, Daemon, login
from tests.faults.servers import PrivatePostgres, PrivateRedis

ROLES = ("manager", "technician", "requester")


@dataclass
class Plant:
    """A running daemon, its servers and a logged-in admin (more users are made on demand)."""

    daemon: Daemon
    pg: PrivatePostgres
    redis: PrivateRedis
    tenant: str
    admin: Client

    async def user(self, role: str = "technician") -> tuple[Client, dict[str, object]]:
        email = f"{role}-{uuid.uuid4().hex[:8]}@faults.test"
        await self.admin.ok("POST", "/api/v1/users", {"email": email, "role": role, "password": PASSWORD}, 201)
        return await login(self.daemon.url, self.tenant, email)


def new_database(pg: PrivatePostgres) -> str:
    name = f"cmms_faults_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(pg.admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return pg.dsn(name)


@pytest.fixture(scope="session")
def scratch() -> Iterator[Path]:
    """A folder the `postgres` user can traverse (pytest's own temporary folders are 0700)."""
    root = Path(tempfile.mkdtemp(prefix="cmms-faults-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_pg(scratch: Path) -> Iterator[PrivatePostgres]:
    """One cluster for the modules that do not fault PostgreSQL itself."""
    pg = PrivatePostgres(scratch / "shared-pg")
    pg.start()
    yield pg
    pg.close()


async def open_plant(pg: PrivatePostgres, root: Path, **env: str) -> Plant:
    redis = PrivateRedis(root / "redis")
    redis.start()
    daemon = Daemon(root / "data", new_database(pg), redis.url, extra_env=env)
    await daemon.start()
    tenant = f"f{uuid.uuid4().hex[:8]}"
    daemon.cli("tenant", "create", tenant)
    daemon.cli("user", "create", "--tenant", tenant, "--email", "admin@faults.test", "--role", "admin",
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    admin, _ = await login(daemon.url, tenant, "admin@faults.test")
    return Plant(daemon, pg, redis, tenant, admin)


def close_plant(plant: Plant) -> None:
    plant.redis.resume() if plant.redis.proc and plant.redis.proc.poll() is None else None
    plant.daemon.stop()
    plant.redis.close()
    # Kept for a look after a failure: the suite's folders are removed at its end.
    shutil.copy(plant.daemon.data_dir / "serve.log", Path(tempfile.gettempdir()) / "cmms-faults-last-serve.log")


@pytest.fixture(scope="module")
async def plant(shared_pg: PrivatePostgres, scratch: Path) -> AsyncIterator[Plant]:
    p = await open_plant(shared_pg, scratch / f"plant-{uuid.uuid4().hex[:6]}")
    try:
        yield p
    finally:
        close_plant(p)
