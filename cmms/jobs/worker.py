"""Runs one job: claim it (idempotent on the job id), run its processor, record the outcome.

A duplicate delivery finds the job no longer queued and does nothing. A failure is retried after
an exponential, jittered wait (3 attempts), then kept as `failed` with its error. A result file
is written under a temporary name on the worker's disk, then streamed into the file store that
every node reads, and the row naming it is published only after that: a failed or cancelled job
leaves no half-written result, and a download works from any node.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from pathlib import Path

from cmms.domain.jobs import JobKind, JobStatus, backoff, params_model
from cmms.files.base import Stored, file_chunks
from cmms.jobs.context import Emit, JobCancelled, JobContext, progress_event
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.registry import Processor, processors
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        deps: Deps,
        data_dir: Path,
        emit: Emit,
        delayed: DelayedJobs,
        registry: dict[JobKind, Processor] | None = None,
    ) -> None:
        self.heartbeat_every = deps.settings.jobs.heartbeat_every
        self.retry_base = deps.settings.jobs.retry_base
        self.deps = deps
        self.data_dir = data_dir
        self.emit = emit
        self.delayed = delayed
        self.registry = registry if registry is not None else processors()

    async def run(self, job_id: int, tenant_id: int | None) -> None:
        job = await jobs_service.claim(self.deps, job_id, tenant_id)
        if job is None:
            return  # already taken, finished or cancelled: a duplicate delivery
        ctx = JobContext(self.deps, job, self.data_dir, self.emit)
        user = job["requested_by"]
        if job["attempts"] > job["max_attempts"]:
            await self._finish(
                ctx,
                JobStatus.FAILED,
                error=job["error"] or "the worker was lost on every attempt",
                message=f"gave up after {job['max_attempts']} attempts",
            )
            return
        await self.emit(progress_event(job, "running", 0.0, "started"), user)
        heart = asyncio.create_task(self._heartbeat(ctx))
        stored: Stored | None = None
        try:
            kind = JobKind(job["kind"])
            params = params_model(kind, job["params"]).model_validate(job["params"])
            result = await self.registry[kind](ctx, params)
            temp = next((t for t in ctx._temps if t.exists()), None) if result.path else None
            if temp is not None:
                stored = await self.deps.files.put(ctx.tenant_id, file_chunks(temp))
            published = await self._finish(
                ctx,
                JobStatus.COMPLETED,
                progress=1.0,
                message="done",
                result=result.summary,
                result_path=result.path.name if stored and result.path else None,
                result_key=stored.key if stored else None,
                result_size=stored.size if stored else None,
                result_type=result.content_type,
                error=None,
            )
            if published:
                stored = None  # the row names it now
        except JobCancelled:
            await self._finish(ctx, JobStatus.CANCELLED, message="cancelled")
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("job %s attempt %s failed: %s", job_id, job["attempts"], error)
            if job["attempts"] < job["max_attempts"]:
                delay = backoff(job["attempts"], base=self.retry_base)
                due = self.deps.clock() + timedelta(seconds=delay)
                await self._finish(
                    ctx,
                    JobStatus.QUEUED,
                    run_after=due,
                    error=error,
                    message=f"attempt {job['attempts']} failed; retrying in {delay:.1f} s",
                )
                await self.delayed.add(job_id, tenant_id, time.time() + delay)
            else:
                await self._finish(ctx, JobStatus.FAILED, error=error, message="failed")
        finally:
            heart.cancel()
            ctx.discard_temporary_files()
            if stored is not None:  # stored, but the job was not completed by us: no row may point at it
                await self.deps.files.delete(ctx.tenant_id, stored.key)

    async def _finish(self, ctx: JobContext, status: JobStatus, **values: object) -> bool:
        row = await jobs_service.finish(self.deps, ctx.job_id, ctx.tenant_id, status, **values)
        if row is not None:
            await self.emit(
                progress_event(row, status, float(row["progress"]), str(row["message"])), row["requested_by"]
            )
        return row is not None

    async def _heartbeat(self, ctx: JobContext) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                await jobs_service.beat(self.deps, ctx.job_id, ctx.tenant_id)
            except Exception:
                log.warning("job %s: heartbeat failed", ctx.job_id)
