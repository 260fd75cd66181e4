"""Exports jobs."""

from __future__ import annotations

from typing import Any

from cmms.jobs.context import JobContext, JobResult


async def run(ctx: JobContext, params: Any) -> JobResult:
    raise NotImplementedError("the exports processor is being written")
