"""The jobs table: claim, heartbeat, progress and finish, each a single guarded UPDATE."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.jsonb import jsonb
from cmms.db.pool import Cursor, fetchall, fetchone

TABLE = "jobs"
PUBLIC = (
    "id, tenant_id, kind, params, status, progress, message, attempts, max_attempts, result, result_type,"
    " error, requested_by, cancel_requested, run_after, started_at, finished_at, version, created_at, updated_at"
)


async def insert(
    cur: Cursor, tenant_id: int | None, kind: str, params: dict[str, Any], requested_by: int | None, max_attempts: int
) -> dict[str, Any]:
    row = await fetchone(
        cur,
        "INSERT INTO jobs (tenant_id, kind, params, requested_by, max_attempts) VALUES (%s, %s, %s, %s, %s)"
        f" RETURNING {PUBLIC}",
        (tenant_id, kind, jsonb(params), requested_by, max_attempts),
    )
    assert row is not None
    return row


async def get(cur: Cursor, job_id: int, *, private: bool = False) -> dict[str, Any] | None:
    """A job visible in the current tenant scope (RLS), with its file path when `private`."""
    columns = "*" if private else PUBLIC
    return await fetchone(cur, f"SELECT {columns} FROM jobs WHERE id = %s", (job_id,))


async def list_page(
    cur: Cursor,
    tenant_id: int,
    requested_by: int | None,
    status: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    where = crud.Where(tenant_id).eq("requested_by", requested_by).eq("status", status).eq("kind", kind)
    return await crud.page(cur, TABLE, where, limit=limit, cursor=cursor, columns=PUBLIC)


async def claim(cur: Cursor, job_id: int) -> dict[str, Any] | None:
    """Take a queued job; None when it is not (any longer) runnable, e.g. on a duplicate delivery."""
    return await fetchone(
        cur,
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()),"
        " heartbeat_at = now(), run_after = NULL, updated_at = now(), version = version + 1"
        " WHERE id = %s AND status = 'queued' AND NOT cancel_requested"
        " AND (run_after IS NULL OR run_after <= now() + interval '1 second') RETURNING *",
        (job_id,),
    )


async def beat(cur: Cursor, job_id: int, progress: float | None, message: str | None) -> bool:
    """Record liveness (and progress); returns whether a cancel was requested."""
    row = await fetchone(
        cur,
        "UPDATE jobs SET heartbeat_at = now(), progress = coalesce(%s, progress), message = coalesce(%s, message),"
        " updated_at = now() WHERE id = %s AND status = 'running' RETURNING cancel_requested",
        (progress, message, job_id),
    )
    return bool(row is None or row["cancel_requested"])


async def finish(cur: Cursor, job_id: int, status: str, **values: Any) -> dict[str, Any] | None:
    """Move a running job to a final state (or back to queued for a retry), with its outcome."""
    sets = ["status = %s", "updated_at = now()", "version = version + 1", "heartbeat_at = NULL"]
    params: list[Any] = [status]
    if status != "queued":
        sets.append("finished_at = now()")
    for column, value in values.items():
        sets.append(f"{column} = %s")
        params.append(jsonb(value) if column == "result" else value)
    return await fetchone(
        cur,
        f"UPDATE jobs SET {', '.join(sets)} WHERE id = %s AND status = 'running' RETURNING {PUBLIC}",
        (*params, job_id),
    )


async def cancel(cur: Cursor, job_id: int) -> dict[str, Any] | None:
    """Cancel a queued job at once; ask a running one to stop at its next checkpoint."""
    return await fetchone(
        cur,
        "UPDATE jobs SET cancel_requested = true, updated_at = now(), version = version + 1,"
        " status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,"
        " finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END"
        f" WHERE id = %s AND status IN ('queued', 'running') RETURNING {PUBLIC}",
        (job_id,),
    )


async def stale(cur: Cursor, heartbeat_seconds: int, queued_seconds: int) -> list[dict[str, Any]]:
    """Running jobs whose worker stopped beating, and queued jobs nobody picked up."""
    return await fetchall(
        cur,
        "SELECT id, tenant_id, status FROM jobs WHERE"
        " (status = 'running' AND heartbeat_at < now() - make_interval(secs => %s))"
        " OR (status = 'queued' AND NOT cancel_requested AND coalesce(run_after, updated_at)"
        "     < now() - make_interval(secs => %s))",
        (heartbeat_seconds, queued_seconds),
    )


async def requeue_stale(cur: Cursor, job_id: int, heartbeat_seconds: int) -> bool:
    await cur.execute(
        "UPDATE jobs SET status = 'queued', heartbeat_at = NULL, updated_at = now(),"
        " message = 'worker lost; queued again' WHERE id = %s AND status = 'running'"
        " AND heartbeat_at < now() - make_interval(secs => %s)",
        (job_id, heartbeat_seconds),
    )
    return bool(cur.rowcount)


async def touch_queued(cur: Cursor, job_id: int) -> None:
    await cur.execute("UPDATE jobs SET updated_at = now() WHERE id = %s AND status = 'queued'", (job_id,))


async def queued(cur: Cursor) -> list[dict[str, Any]]:
    """Jobs waiting for a worker (some of them for their retry's time), in the current scope."""
    return await fetchall(
        cur, "SELECT id, tenant_id, run_after FROM jobs WHERE status = 'queued' AND NOT cancel_requested ORDER BY id"
    )
