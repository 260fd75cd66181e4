"""Cleanup: retention of one tenant's audit trail, delivered events, finished jobs and their files
(in the file store; older ones on this node's disk),
and dead refresh tokens. In the system scope (no tenant) it cleans the system jobs. A dry run
only counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from cmms.domain.jobs import CleanupParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import retention

TOKEN_GRACE = timedelta(days=1)  # refresh tokens go a day after they expired or were revoked
STALE_PART = 24 * 3600  # temporary result files of a worker that died


async def run(ctx: JobContext, params: CleanupParams) -> JobResult:
    settings = ctx.deps.settings
    now = ctx.deps.clock()
    dry_run = params.dry_run
    tenant = ctx.tenant_id
    folder = ctx.data_dir / "results" / str(tenant or "system")
    steps = 4 if tenant is not None else 1
    done = 0

    async def progress(message: str) -> None:
        await ctx.progress(done / (steps + 1), message)

    summary: dict[str, object] = {"dry_run": dry_run}
    if tenant is not None:
        before = now - timedelta(days=settings.jobs.audit_retention_days)
        summary["audit"] = await retention.audit(ctx.deps, tenant, before, dry_run=dry_run, progress=progress)
        done += 1
        await progress("audit trail")
        before = now - timedelta(days=settings.events.retention_days)
        summary["events"] = await retention.events(ctx.deps, tenant, before, dry_run=dry_run, progress=progress)
        done += 1
        await progress("events")
        before = now - TOKEN_GRACE
        summary["refresh_tokens"] = await retention.refresh_tokens(
            ctx.deps, tenant, before, dry_run=dry_run, progress=progress
        )
        summary["idempotency_keys"] = await retention.idempotency_keys(ctx.deps, tenant, dry_run=dry_run)
        done += 1
        await progress("sessions")

    async def remove_file(job: dict[str, Any]) -> bool:
        if job["result_key"]:
            if dry_run:
                return await ctx.deps.files.size(tenant, job["result_key"]) is not None
            return await ctx.deps.files.delete(tenant, job["result_key"])
        return await asyncio.to_thread(_remove, Path(job["result_path"]), folder, dry_run=dry_run)

    before = now - timedelta(days=settings.jobs.job_retention_days)
    summary["jobs"], summary["files"] = await retention.jobs(
        ctx.deps, tenant, before, remove_file, dry_run=dry_run, progress=progress
    )
    summary["temp_files"] = await asyncio.to_thread(_stale_parts, folder, dry_run=dry_run)
    summary["orphan_files"] = await retention.orphan_files(
        ctx.deps, tenant, now - timedelta(seconds=STALE_PART), dry_run=dry_run
    )
    if tenant is None:
        summary.update(await retention.system_records(ctx.deps, dry_run=dry_run))
    return JobResult(summary=summary)


def _remove(path: Path, folder: Path, *, dry_run: bool) -> bool:
    """Delete a result file, only ever inside this scope's results folder."""
    try:
        resolved = path.resolve()
        if not resolved.is_relative_to(folder.resolve()) or not resolved.is_file():
            return False
        if not dry_run:
            resolved.unlink()
    except OSError:
        return False
    return True


def _stale_parts(folder: Path, *, dry_run: bool) -> int:
    """Temporary files a killed worker left (a failing job removes its own)."""
    count = 0
    for part in folder.glob(".job-*.part") if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > STALE_PART:
                if not dry_run:
                    part.unlink()
                count += 1
    return count
