"""Search jobs: rebuild the tenant's search documents (Elasticsearch: reload the tenant's index)."""

from __future__ import annotations

from cmms.domain.jobs import SearchParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import search


async def run(ctx: JobContext, params: SearchParams) -> JobResult:
    await ctx.progress(0.0, "reindexing", force=True)
    report = await search.reindex(ctx.deps, ctx.tenant_id)
    await ctx.progress(1.0, "reindexed", force=True)
    return JobResult(summary={**report, "entity": params.entity or "all"})
