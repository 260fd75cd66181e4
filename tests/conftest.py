"""Session fixtures: a throw-away database on the machine's PostgreSQL, a Redis database, the runtime
and the real aiohttp app served on a local port.

CMMS_TEST_DATABASE_URL is an admin DSN (default postgresql://postgres@127.0.0.1:5432/postgres); the
suite creates `cmms_test_<random>` there and drops it at the end. CMMS_TEST_REDIS_URL (default
redis://127.0.0.1:6379/15) is flushed at the start. Tenants get unique names, so tests that each
make their own tenant are independent of each other and of the order they run in.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from cmms.api.app import make_app
from cmms.config import Settings, load_settings
from cmms.runtime import Runtime, open_runtime
from tests.integration.support import Api, Tenant, make_tenant

ADMIN_DSN = os.environ.get("CMMS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("CMMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
JWT_SECRET = "test-only-secret-0123456789abcdefghijklmnopqrstuvwxyz"
# Every failed login of the suite comes from 127.0.0.1; the per-address limit is raised so that
# tests which fail logins on purpose cannot lock out the others (test_auth checks the limit itself).
ADDRESS_LIMIT = 10_000


def _admin_connection() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"cmms_test_{uuid.uuid4().hex[:12]}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    try:
        yield make_dsn(ADMIN_DSN, dbname=name)
    finally:
        conn = _admin_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                    " AND pid <> pg_backend_pid()",
                    (name,),
                )
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        finally:
            conn.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("cmms-data")
    return load_settings(
        env={},
        database_url=database_url,
        redis_url=redis_url,
        data_dir=str(data_dir),
        jwt_secret=JWT_SECRET,
        database_pool_min=1,
        auth_max_failures_address=ADDRESS_LIMIT,
        # Cheap hashes keep the suite fast; production cost is the default (time 3, 64 MiB).
        auth_password_time_cost=1,
        auth_password_memory_kib=1024,
    )


@pytest.fixture(scope="session")
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings) as runtime:
        yield runtime


@pytest.fixture(scope="session")
async def client(rt: Runtime) -> AsyncIterator[TestClient]:
    test_client = TestClient(TestServer(make_app(rt.deps, rt.readiness)))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


@pytest.fixture(scope="session")
def anon(client: TestClient) -> Api:
    """A caller without credentials."""
    return Api(client)


@pytest.fixture(scope="module")
async def tenant(rt: Runtime, client: TestClient) -> Tenant:
    """A tenant shared by one test module, with one logged-in user per role (keys = role names)."""
    return await make_tenant(rt, client)


@pytest.fixture(scope="module")
async def other(rt: Runtime, client: TestClient) -> Tenant:
    """A second tenant for isolation checks, with just a logged-in admin (logins cost an argon2 hash)."""
    return await make_tenant(rt, client, {"admin": "admin"})
