"""Retention: what is past its keeping period is counted (dry run) or deleted in small batches.

Every batch is its own short transaction, so a large backlog never holds locks for long and a
cancelled cleanup keeps what it already removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, transaction
from cmms.db.repos import attachments, idempotency, periodic, revocations
from cmms.db.repos import retention as repo
from cmms.services.deps import Deps

BATCH = 5000
Progress = Callable[[str], Awaitable[None]]  # a checkpoint between batches (may raise to stop)
Count = Callable[[Cursor, int, datetime], Awaitable[int]]
Delete = Callable[[Cursor, int, datetime, int], Awaitable[int]]


async def _tenant_rows(
    deps: Deps, tenant_id: int, before: datetime, count: Count, delete: Delete, *, dry_run: bool, progress: Progress
) -> int:
    if dry_run:
        async with transaction(deps.pool, tenant_id) as cur:
            return await count(cur, tenant_id, before)
    removed = 0
    while True:
        async with transaction(deps.pool, tenant_id) as cur:
            n = await delete(cur, tenant_id, before, BATCH)
        removed += n
        if n < BATCH:
            return removed
        await progress(f"{removed} removed")


async def audit(deps: Deps, tenant_id: int, before: datetime, *, dry_run: bool, progress: Progress) -> int:
    return await _tenant_rows(
        deps, tenant_id, before, repo.count_audit, repo.delete_audit, dry_run=dry_run, progress=progress
    )


async def events(deps: Deps, tenant_id: int, before: datetime, *, dry_run: bool, progress: Progress) -> int:
    """Outbox events older than `before` that the relay has delivered (replay before them: 410)."""
    return await _tenant_rows(
        deps, tenant_id, before, repo.count_events, repo.delete_events, dry_run=dry_run, progress=progress
    )


async def refresh_tokens(deps: Deps, tenant_id: int, before: datetime, *, dry_run: bool, progress: Progress) -> int:
    return await _tenant_rows(
        deps, tenant_id, before, repo.count_tokens, repo.delete_tokens, dry_run=dry_run, progress=progress
    )


async def jobs(
    deps: Deps,
    tenant_id: int | None,
    before: datetime,
    remove_file: Callable[[dict[str, Any]], Awaitable[bool]],
    *,
    dry_run: bool,
    progress: Progress,
) -> tuple[int, int]:
    """Finished jobs of a tenant (None: system jobs) and their result files: (jobs, files).

    The file goes first: a crash in between leaves a row whose file is gone (its download says
    so), never a file that no row points to. `remove_file` is given the row (`result_key` in the
    file store, or a `result_path` on disk from before the store) and returns whether a file was
    (or, in a dry run, would be) removed.
    """
    removed = files = 0
    after = 0
    while True:
        async with transaction(deps.pool, tenant_id) as cur:
            rows: list[dict[str, Any]] = await repo.finished_jobs(cur, tenant_id, before, BATCH, after)
        if not rows:
            return removed, files
        for row in rows:
            if (row["result_key"] or row["result_path"]) and await remove_file(row):
                files += 1
        if dry_run:
            removed += len(rows)
            after = int(rows[-1]["id"])
        else:
            async with transaction(deps.pool, tenant_id) as cur:
                removed += await repo.delete_jobs(cur, tenant_id, [int(r["id"]) for r in rows], before)
            after = int(rows[-1]["id"])
        if len(rows) < BATCH:
            return removed, files
        await progress(f"{removed} jobs")


async def system_records(deps: Deps, *, dry_run: bool) -> dict[str, int]:
    """Expired revocations (every tenant's) and period claims older than a week: small tables."""
    if dry_run:
        return {"revocations": 0, "periodic_runs": 0}
    async with transaction(deps.pool, None) as cur:
        return {"revocations": await revocations.purge(cur), "periodic_runs": await periodic.purge(cur, 7)}


async def idempotency_keys(deps: Deps, tenant_id: int, *, dry_run: bool, keep_hours: int = 24) -> int:
    """Stored first answers past their day."""
    if dry_run:
        return 0
    async with transaction(deps.pool, tenant_id) as cur:
        return await idempotency.purge(cur, tenant_id, keep_hours)


async def orphan_files(deps: Deps, tenant_id: int | None, before: datetime, *, dry_run: bool) -> int:
    """Stored objects nothing points at, written before `before`: what a process killed between
    storing a file and recording it left behind (a normal failure deletes its own at once)."""
    candidates = await deps.files.created_before(tenant_id, before)
    if not candidates:
        return 0
    async with transaction(deps.pool, tenant_id) as cur:
        kept = await attachments.referenced(cur, candidates)
    orphans = [key for key in candidates if key not in kept]
    if not dry_run:
        for key in orphans:
            await deps.files.delete(tenant_id, key)
    return len(orphans)
