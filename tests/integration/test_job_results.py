"""Job results live in the file store: published only once stored, read back by any node,
removed by retention; and backups carry the files PostgreSQL stores."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import AsyncIterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from cmms import backup
from cmms.db.migrate import migrate
from cmms.db.pool import open_pool, transaction
from cmms.db.repos import jobs as job_repo
from cmms.domain.jobs import JobIn, JobKind
from cmms.files.base import Stored, read_all
from cmms.files.postgres import PostgresFiles
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from tests.integration.support import Tenant, ok

MIB = 1024 * 1024


async def _no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


async def _run(rt: Runtime, job_id: int, tenant_id: int | None, deps: Any = None) -> dict[str, Any]:
    worker = Worker(deps or rt.deps, rt.data_dir, _no_emit, DelayedJobs(rt.deps.redis, rt.job_system.queue))
    await worker.run(job_id, tenant_id)
    async with transaction(rt.deps.pool, tenant_id) as cur:
        row = await job_repo.get(cur, job_id, private=True)
    assert row is not None
    return row


async def _export(tenant: Tenant) -> int:
    reply = await tenant["manager"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}})
    return int(ok(reply, 202)["id"])


async def test_an_export_is_stored_then_published(rt: Runtime, tenant: Tenant) -> None:
    ok(await tenant["manager"].post("/api/v1/orders", {"title": "Exported order"}), 201)
    row = await _run(rt, await _export(tenant), tenant.id)
    assert row["status"] == "completed", row
    assert row["result_key"] and row["result_path"] == f"job-{row['id']}.csv"
    stored = await read_all(rt.deps.files, tenant.id, row["result_key"])
    assert len(stored) == row["result_size"] and b"Exported order" in stored
    assert not list((rt.data_dir / "results").rglob(f"*job-{row['id']}.csv*"))  # nothing kept on this disk
    reply = await tenant["manager"].get(f"/api/v1/jobs/{row['id']}/result")
    assert reply.status == 200 and reply.text.encode() == stored
    assert reply.headers["Content-Disposition"].startswith(f'attachment; filename="job-{row["id"]}.csv"')


class FailingStore:
    """The runtime's store, except that every upload fails halfway through."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    async def put(self, scope: int | None, chunks: AsyncIterable[bytes], *, limit: int | None = None) -> Stored:
        async def half() -> Any:
            async for chunk in chunks:
                yield chunk
                raise OSError("the store went away mid-upload")

        return await self.inner.put(scope, half(), limit=limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_result_that_could_not_be_stored_is_never_published(rt: Runtime, tenant: Tenant) -> None:
    before = await rt.deps.files.keys(tenant.id)
    deps = dataclasses.replace(rt.deps, files=FailingStore(rt.deps.files))
    row = await _run(rt, await _export(tenant), tenant.id, deps)
    assert row["status"] == "queued" and "store went away" in row["error"], row  # retried later
    assert row["result_key"] is None
    assert await rt.deps.files.keys(tenant.id) == before
    assert not list((rt.data_dir / "results" / str(tenant.id)).glob(f".job-{row['id']}*"))


async def test_cleanup_removes_old_results_from_the_store(rt: Runtime, tenant: Tenant) -> None:
    row = await _run(rt, await _export(tenant), tenant.id)
    key = row["result_key"]
    assert await rt.deps.files.size(tenant.id, key) is not None
    old = rt.deps.clock() - timedelta(days=rt.settings.jobs.job_retention_days + 1)
    await tenant.sql("UPDATE jobs SET finished_at = %s WHERE id = %s RETURNING id", (old, row["id"]))
    actor = tenant.operator
    cleanup = await jobs_service.create(rt.deps, actor, JobIn(kind=JobKind.CLEANUP, params={}))
    done = await _run(rt, cleanup["id"], tenant.id)
    assert done["status"] == "completed" and done["result"]["files"] >= 1, done
    assert await rt.deps.files.size(tenant.id, key) is None


# ---- backups carry the files of the PostgreSQL store ------------------------------------------------


@pytest.fixture
def scratch_db(database_url: str) -> Iterator[str]:
    name = f"cmms_files_restore_{os.urandom(5).hex()}"
    admin = make_dsn(database_url, dbname="postgres")
    _sql(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)), autocommit=True)
    try:
        yield make_dsn(database_url, dbname=name)
    finally:
        _sql(admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)), autocommit=True)


def _sql(dsn: str, statement: Any, params: Any = (), *, autocommit: bool = False) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = autocommit
        with conn.cursor() as cur:
            cur.execute(statement, params)
            rows = cur.fetchall() if cur.description else []
        if not autocommit:
            conn.commit()
        return rows
    finally:
        conn.close()


async def test_a_backup_restores_the_stored_files(scratch_db: str, tmp_path: Path) -> None:
    await migrate(scratch_db)
    tenant_id = _sql(scratch_db, "INSERT INTO tenants (name, display_name) VALUES ('acme', 'Acme') RETURNING id")[0][0]
    data = os.urandom(3 * MIB + 17)

    async def one() -> Any:
        yield data

    async with open_pool(scratch_db, minsize=1, maxsize=2, statement_timeout_ms=30_000) as pool:
        store = PostgresFiles(pool)
        stored = await store.put(tenant_id, one())
        done = await backup.backup(scratch_db, tmp_path, keep=2, embedded=False)
        assert await store.delete(tenant_id, stored.key)
    await backup.restore(scratch_db, done.path)
    async with open_pool(scratch_db, minsize=1, maxsize=2, statement_timeout_ms=30_000) as pool:
        back = await read_all(PostgresFiles(pool), tenant_id, stored.key)
    assert hashlib.sha256(back).hexdigest() == stored.sha256 == hashlib.sha256(data).hexdigest()


async def test_cleanup_sweeps_stored_objects_that_nothing_points_at(rt: Runtime, tenant: Tenant) -> None:
    async def one() -> Any:
        yield b"left behind by a killed worker"

    orphan = await rt.deps.files.put(tenant.id, one())
    kept = await _run(rt, await _export(tenant), tenant.id)  # a current result: referenced
    old = rt.deps.clock() - timedelta(days=2)
    await tenant.sql(
        "UPDATE file_objects SET created_at = %s WHERE key = ANY(%s::uuid[]) RETURNING key",
        (old, [orphan.key, kept["result_key"]]),
    )
    cleanup = await jobs_service.create(rt.deps, tenant.operator, JobIn(kind=JobKind.CLEANUP, params={}))
    done = await _run(rt, cleanup["id"], tenant.id)
    assert done["result"]["orphan_files"] == 1, done
    assert await rt.deps.files.size(tenant.id, orphan.key) is None
    assert await rt.deps.files.size(tenant.id, kept["result_key"]) is not None
