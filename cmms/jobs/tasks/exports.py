"""Exports jobs: a CSV of orders, assets, readings or audit entries (filters per entity), or with
`operation: "import"` a CSV import of assets whose result is the per-row validation report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from cmms.domain.jobs import ExportParams, ImportParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import exports


async def run(ctx: JobContext, params: ExportParams | ImportParams) -> JobResult:
    if isinstance(params, ImportParams):
        return await _import(ctx, params)
    temp, final = ctx.output(".csv")
    summary = await exports.export_csv(ctx.deps, ctx.actor, params.entity, params.filters, temp, ctx.progress)
    return JobResult(summary=summary, path=final, content_type="text/csv")


async def _import(ctx: JobContext, params: ImportParams) -> JobResult:
    report = await exports.import_assets(
        ctx.deps,
        ctx.actor,
        params.csv,
        valid_rows_only=params.valid_rows_only,
        started=ctx.job["created_at"],
        progress=ctx.progress,
    )
    temp, final = ctx.output(".json")
    await asyncio.to_thread(_write_json, temp, report)
    return JobResult(summary=exports.summary_of(report), path=final, content_type="application/json")


def _write_json(path: Path, value: Any) -> None:
    path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
