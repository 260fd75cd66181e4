"""Backups with the real pg_dump and pg_restore, and retention cleanup on the real database."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from aiohttp.test_utils import TestClient
from psycopg2 import sql
from psycopg2.extensions import make_dsn

from cmms import backup
from cmms.db.migrate import migrate
from cmms.db.pool import transaction
from cmms.db.repos import events as event_repo
from cmms.db.repos import jobs as job_repo
from cmms.domain.events import Event
from cmms.domain.jobs import JobIn, JobKind
from cmms.domain.roles import Actor, Role
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from tests.integration.support import Tenant, make_tenant

SYSTEM = Actor(tenant_id=0, user_id=None, role=Role.ADMIN, request_id="test")


async def _no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


async def run_job(rt: Runtime, job_id: int, tenant_id: int | None) -> dict[str, Any]:
    await Worker(rt.deps, rt.data_dir, _no_emit, DelayedJobs(rt.deps.redis, rt.job_system.queue)).run(job_id, tenant_id)
    async with transaction(rt.deps.pool, tenant_id) as cur:
        row = await job_repo.get(cur, job_id, private=True)
    assert row is not None and row["status"] == "completed", row
    return row


# ---- backup ----------------------------------------------------------------------------------------


async def test_backup_jobs_write_dumps_and_keep_the_newest(rt: Runtime) -> None:
    folder = rt.data_dir / "backups"
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("not a backup")
    (folder / "cmms-manual.dump").write_bytes(b"a dump someone named by hand")
    for old in backup.listed(folder):
        old.unlink()

    files = []
    for _ in range(3):
        job = await jobs_service.create(rt.deps, SYSTEM, JobIn(kind=JobKind.BACKUP, params={"keep": 2}))
        assert job["tenant_id"] is None
        row = await run_job(rt, job["id"], None)
        path = Path(row["result"]["file"])
        assert path.parent == folder and backup.NAME.match(path.name), path
        assert row["result"]["bytes"] == path.stat().st_size > 0
        assert row["result_path"] is None  # job retention must not take the dump with the job
        files.append(path)

    assert backup.listed(folder) == files[1:]  # the newest two
    assert not files[0].exists()
    assert (folder / "notes.txt").exists() and (folder / "cmms-manual.dump").exists()
    assert not list(folder.glob(".cmms-*.part"))
    assert oct(files[-1].stat().st_mode & 0o777) == oct(0o600)
    with files[-1].open("rb") as dump:
        assert dump.read(5) == b"PGDMP"  # the custom format


async def test_the_default_retention_count_comes_from_the_settings(rt: Runtime, tmp_path: Path) -> None:
    dsn = backup.database_dsn(rt.settings)
    for _ in range(3):
        await backup.backup(dsn, tmp_path, keep=rt.settings.jobs.backup_keep, embedded=False)
    done = await backup.backup_command(rt.settings, dsn, tmp_path, keep=None)
    assert len(backup.listed(tmp_path / "backups")) == 4 <= rt.settings.jobs.backup_keep
    done = await backup.backup_command(rt.settings, dsn, tmp_path, keep=1)
    assert backup.listed(tmp_path / "backups") == [done.path]
    assert len(done.removed) == 4


async def test_a_failed_dump_leaves_no_file(rt: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "tools", lambda *a, **kw: [backup.Tool(Path("/bin/false"), 99)])
    with pytest.raises(backup.BackupError, match="failed"):
        await backup.backup(backup.database_dsn(rt.settings), tmp_path, keep=3, embedded=False)
    assert list((tmp_path / "backups").iterdir()) == []


def test_the_client_tools_are_at_least_as_new_as_the_server() -> None:
    for tool in backup.tools("pg_dump", 15, embedded=False):
        assert tool.major >= 15
    picked = backup.tools("pg_dump", 15, embedded=False)
    assert picked == sorted(picked, key=lambda t: t.major)
    with pytest.raises(backup.BackupError, match="no pg_restore of PostgreSQL 99"):
        backup.tools("pg_restore", 99, embedded=False)


@pytest.fixture
def scratch_db(database_url: str) -> Iterator[str]:
    """A database of its own: a restore replaces everything in it."""
    name = f"cmms_restore_{uuid.uuid4().hex[:10]}"
    admin = make_dsn(database_url, dbname="postgres")
    _admin(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_dsn(database_url, dbname=name)
    finally:
        _admin(admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _admin(dsn: str, statement: sql.Composable) -> None:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def _query(dsn: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


async def test_restore_brings_back_the_backed_up_data(scratch_db: str, tmp_path: Path) -> None:
    await migrate(scratch_db)
    _query(scratch_db, "INSERT INTO tenants (name, display_name) VALUES ('acme', 'Acme Ltd')")
    policies = _query(scratch_db, "SELECT count(*) FROM pg_policies")
    done = await backup.backup(scratch_db, tmp_path, keep=3, embedded=False)

    _query(scratch_db, "UPDATE tenants SET display_name = 'Changed' WHERE name = 'acme'")
    _query(scratch_db, "INSERT INTO tenants (name, display_name) VALUES ('later', 'Made after the backup')")
    _query(scratch_db, "DROP POLICY tenant_isolation ON assets")

    await backup.restore(scratch_db, done.path)
    assert _query(scratch_db, "SELECT name, display_name FROM tenants ORDER BY id") == [("acme", "Acme Ltd")]
    assert _query(scratch_db, "SELECT count(*) FROM pg_policies") == policies
    assert await migrate(scratch_db) == []  # the migration record came back too
    # The application role still works on the restored tables, under row-level security.
    rows = _query(
        scratch_db,
        "SET LOCAL ROLE cmms_app; SELECT set_config('cmms.tenant_id', '1', true); SELECT count(*) FROM assets",
    )
    assert rows == [(0,)]


async def test_restoring_a_missing_file_is_refused(scratch_db: str, tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="no such backup"):
        await backup.restore(scratch_db, tmp_path / "nope.dump")


# ---- cleanup ---------------------------------------------------------------------------------------


async def _returning(tenant: Tenant, query: str, params: Any = ()) -> int:
    rows = await tenant.sql(query + " RETURNING id", params)
    return int(rows[0]["id"])


async def _finished_job(tenant: Tenant, status: str, days_ago: float, path: Path | None) -> int:
    return await _returning(
        tenant,
        "INSERT INTO jobs (tenant_id, kind, status, finished_at, result_path)"
        " VALUES (%s, 'exports', %s, now() - make_interval(secs => %s), %s)",
        (tenant.id, status, days_ago * 86400, str(path) if path else None),
    )


async def _counts(tenant: Tenant) -> dict[str, int]:
    out = {}
    for table in ("audit_log", "outbox", "refresh_tokens", "jobs"):
        [row] = await tenant.sql(f"SELECT count(*) AS n FROM {table}")
        out[table] = int(row["n"])
    return out


@pytest.fixture
async def aged(rt: Runtime, client: TestClient, tmp_path: Path) -> dict[str, Any]:
    """A tenant with rows on both sides of every retention period, and files for its jobs."""
    tenant = await make_tenant(rt, client, {"admin": "admin"})
    t = tenant.id
    user = tenant.users["admin"]["id"]
    old_audit = [
        await _returning(
            tenant,
            "INSERT INTO audit_log (tenant_id, action, entity, at) VALUES (%s, 'x', 'y', now() - interval '400 days')",
            (t,),
        )
        for _ in range(2)
    ]
    recent_audit = await _returning(
        tenant,
        "INSERT INTO audit_log (tenant_id, action, entity, at) VALUES (%s, 'x', 'y', now() - interval '300 days')",
        (t,),
    )
    async with transaction(rt.deps.pool, t) as cur:
        seqs = [await event_repo.publish(cur, t, Event("test:event", {"n": i})) for i in range(3)]
        await cur.execute(
            "UPDATE outbox SET at = now() - interval '30 days' WHERE tenant_id = %s AND seq = ANY(%s)",
            (t, seqs[:2]),
        )
        await event_repo.relay_advance(cur, t, seqs[0])  # delivered: the first (old) one only
    token = (
        "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at, revoked_at)"
        " VALUES (%s, %s, gen_random_uuid(), decode(md5(random()::text), 'hex'), now() + %s::interval, "
        " now() + %s::interval)"
    )
    tokens = {
        "expired 2 days ago": await _returning(tenant, token, (t, user, "-2 days", None)),
        "revoked 2 days ago": await _returning(tenant, token, (t, user, "10 days", "-2 days")),
        "expired an hour ago": await _returning(tenant, token, (t, user, "-1 hour", None)),
        "revoked an hour ago": await _returning(tenant, token, (t, user, "10 days", "-1 hour")),
        "live": await _returning(tenant, token, (t, user, "10 days", None)),
    }
    results = rt.data_dir / "results" / str(t)
    results.mkdir(parents=True, exist_ok=True)
    outside = tmp_path / "outside.csv"
    outside.write_text("not under the results folder")
    old_file, recent_file = results / "old.csv", results / "recent.csv"
    old_file.write_text("a,b\n")
    recent_file.write_text("a,b\n")
    stale_part, fresh_part = results / ".job-99.csv.1.part", results / ".job-98.csv.1.part"
    stale_part.write_text("x")
    fresh_part.write_text("x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale_part, (two_days_ago, two_days_ago))
    jobs = {
        "old with file": await _finished_job(tenant, "completed", 31, old_file),
        "old failed": await _finished_job(tenant, "failed", 40, None),
        "old pointing outside": await _finished_job(tenant, "cancelled", 31, outside),
        "recent with file": await _finished_job(tenant, "completed", 29, recent_file),
        "old but running": await _returning(
            tenant,
            "INSERT INTO jobs (tenant_id, kind, status, started_at) VALUES (%s, 'exports', 'running',"
            " now() - interval '60 days')",
            (t,),
        ),
    }
    return {
        "tenant": tenant,
        "old_audit": old_audit,
        "recent_audit": recent_audit,
        "seqs": seqs,
        "tokens": tokens,
        "jobs": jobs,
        "files": {"old": old_file, "recent": recent_file, "outside": outside},
        "parts": {"stale": stale_part, "fresh": fresh_part},
    }


async def _cleanup(rt: Runtime, tenant: Tenant, *, dry_run: bool) -> dict[str, Any]:
    job = await jobs_service.create(rt.deps, tenant.operator, JobIn(kind=JobKind.CLEANUP, params={"dry_run": dry_run}))
    return dict((await run_job(rt, job["id"], tenant.id))["result"])


EXPECTED = {
    "audit": 2,
    "events": 1,
    "refresh_tokens": 2,
    "idempotency_keys": 0,
    "jobs": 3,
    "files": 1,
    "temp_files": 1,
    "orphan_files": 0,
}


async def test_a_dry_run_counts_and_changes_nothing(rt: Runtime, aged: dict[str, Any]) -> None:
    tenant: Tenant = aged["tenant"]
    before = await _counts(tenant)
    summary = await _cleanup(rt, tenant, dry_run=True)
    assert summary == {"dry_run": True, **EXPECTED}
    after = await _counts(tenant)
    # Only the dry run's own job row (and the audit row of its creation, and its event) are new.
    assert after == {
        **before,
        "jobs": before["jobs"] + 1,
        "audit_log": before["audit_log"] + 1,
        "outbox": before["outbox"] + 1,
    }
    assert all(p.exists() for p in aged["files"].values())
    assert all(p.exists() for p in aged["parts"].values())


async def test_cleanup_removes_what_is_past_retention_and_nothing_else(
    rt: Runtime, aged: dict[str, Any], other: Tenant
) -> None:
    tenant: Tenant = aged["tenant"]
    elsewhere = await _returning(
        other,
        "INSERT INTO audit_log (tenant_id, action, entity, at) VALUES (%s, 'x', 'y', now() - interval '400 days')",
        (other.id,),
    )

    assert await _cleanup(rt, tenant, dry_run=False) == {"dry_run": False, **EXPECTED}

    audit = {r["id"] for r in await tenant.sql("SELECT id FROM audit_log")}
    assert not audit & set(aged["old_audit"]) and aged["recent_audit"] in audit
    assert await other.sql("SELECT id FROM audit_log WHERE id = %s", (elsewhere,)) != []
    seqs = [
        r["seq"] for r in await tenant.sql("SELECT seq FROM outbox WHERE seq = ANY(%s) ORDER BY seq", (aged["seqs"],))
    ]
    assert seqs == aged["seqs"][1:]  # the old undelivered event stays until the relay has sent it
    tokens = {r["id"] for r in await tenant.sql("SELECT id FROM refresh_tokens")}
    names = {name for name, token_id in aged["tokens"].items() if token_id in tokens}
    assert names == {"expired an hour ago", "revoked an hour ago", "live"}
    jobs = {r["id"] for r in await tenant.sql("SELECT id FROM jobs")}
    names = {name for name, job_id in aged["jobs"].items() if job_id in jobs}
    assert names == {"recent with file", "old but running"}
    files = aged["files"]
    assert not files["old"].exists() and files["recent"].exists() and files["outside"].exists()
    assert not aged["parts"]["stale"].exists() and aged["parts"]["fresh"].exists()

    again = await _cleanup(rt, tenant, dry_run=False)
    assert again == {"dry_run": False, **dict.fromkeys(EXPECTED, 0)}


async def test_the_system_scope_cleans_system_jobs_only(rt: Runtime, aged: dict[str, Any]) -> None:
    tenant: Tenant = aged["tenant"]
    folder = rt.data_dir / "results" / "system"
    folder.mkdir(parents=True, exist_ok=True)
    old_file = folder / f"old-{uuid.uuid4().hex}.dump"
    old_file.write_text("x")
    async with transaction(rt.deps.pool, None) as cur:
        await cur.execute(
            "INSERT INTO jobs (tenant_id, kind, status, finished_at, result_path)"
            " VALUES (NULL, 'backup', 'completed', now() - interval '31 days', %s) RETURNING id",
            (str(old_file),),
        )
        old = (await cur.fetchone())["id"]
        await cur.execute(
            "INSERT INTO jobs (tenant_id, kind, status, finished_at)"
            " VALUES (NULL, 'backup', 'completed', now() - interval '1 day') RETURNING id"
        )
        recent = (await cur.fetchone())["id"]
        job = await job_repo.insert(cur, None, JobKind.CLEANUP, {}, None, 3)
    summary = dict((await run_job(rt, job["id"], None))["result"])
    assert summary["jobs"] >= 1 and summary["files"] >= 1
    assert "audit" not in summary and "refresh_tokens" not in summary
    async with transaction(rt.deps.pool, None) as cur:
        assert await job_repo.get(cur, old) is None
        assert await job_repo.get(cur, recent) is not None
    assert not old_file.exists()
    # The tenant's own old job is not the system scope's to remove.
    assert await tenant.sql("SELECT id FROM jobs WHERE id = %s", (aged["jobs"]["old failed"],)) != []
