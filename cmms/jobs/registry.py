"""Which processor runs each kind of job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cmms.domain.jobs import JobKind
from cmms.jobs.context import JobContext, JobResult

Processor = Callable[[JobContext, Any], Awaitable[JobResult]]


def processors() -> dict[JobKind, Processor]:
    from cmms.jobs.tasks import backup, cache, cleanup, email, exports, maintenance, reports, search

    return {
        JobKind.EMAIL: email.run,
        JobKind.REPORTS: reports.run,
        JobKind.EXPORTS: exports.run,
        JobKind.MAINTENANCE: maintenance.run,
        JobKind.CACHE: cache.run,
        JobKind.SEARCH: search.run,
        JobKind.BACKUP: backup.run,
        JobKind.CLEANUP: cleanup.run,
    }
