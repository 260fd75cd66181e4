"""Exports jobs: a CSV of orders, assets, readings, audit entries, parts or stock (filters per entity),
or with `operation: "import"` a CSV import of assets or parts whose result is the per-row report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from cmms.domain.jobs import ExportParams, ImportParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import exports, part_import


async def run(ctx: JobContext, params: ExportParams | ImportParams) -> JobResult:
    if isinstance(params, ImportParams):
        return await _import(ctx, params)
    temp, final = ctx.output(".csv")
    summary = await exports.export_csv(ctx.deps, ctx.actor, params.entity, params.filters, temp, ctx.progress)
    return JobResult(summary=summary, path=final, content_type="text/csv")


async def _import(ctx: JobContext, params: ImportParams) -> JobResult:
    run_import = part_import.import_parts if params.entity == "parts" else exports.import_assets
    report = await run_import(
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
