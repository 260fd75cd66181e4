"""Backup: pg_dump of the whole database into the data dir, keeping the newest N (a system job)."""

from __future__ import annotations

from cmms import backup
from cmms.domain.jobs import BackupParams
from cmms.jobs.context import JobContext, JobResult


async def run(ctx: JobContext, params: BackupParams) -> JobResult:
    settings = ctx.deps.settings
    keep = params.keep or settings.jobs.backup_keep

    async def checkpoint(written: int) -> None:
        # pg_dump's size is unknown beforehand: report bytes written, at a nominal fraction
        await ctx.progress(0.5, f"{written / 1_048_576:.1f} MiB written")

    done = await backup.backup(
        backup.database_dsn(settings),
        ctx.data_dir,
        keep=keep,
        embedded=backup.is_embedded(settings),
        checkpoint=checkpoint,
    )
    # The dump is not the job's result file: job retention must not delete it, backup retention does.
    return JobResult(
        summary={
            "file": str(done.path),
            "bytes": done.size,
            "kept": keep,
            "removed": [p.name for p in done.removed],
        }
    )
