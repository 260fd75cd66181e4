"""Background jobs: kinds, statuses, what each kind accepts, and the retry schedule."""

from __future__ import annotations

import random
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from cmms.domain.model_types import Id, Input, Instant


class JobKind(StrEnum):
    EMAIL = "email"
    REPORTS = "reports"
    EXPORTS = "exports"
    MAINTENANCE = "maintenance"
    CACHE = "cache"
    SEARCH = "search"
    BACKUP = "backup"
    CLEANUP = "cleanup"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
# Kinds that act on the whole installation: only operators (CLI, scheduler) start them.
SYSTEM_ONLY = frozenset({JobKind.BACKUP})


class JobIn(Input):
    kind: JobKind
    params: dict[str, Any] = {}


class EmailParams(Input):
    template: Literal["order_assigned", "alert_triggered", "digest"]
    order_id: Id | None = None
    alert_id: Id | None = None
    user_ids: Annotated[list[Id], Field(max_length=500)] | None = None  # default: who the template concerns

    @model_validator(mode="after")
    def _subject(self) -> EmailParams:
        if self.template == "order_assigned" and self.order_id is None:
            raise ValueError("order_assigned needs order_id")
        if self.template == "alert_triggered" and self.alert_id is None:
            raise ValueError("alert_triggered needs alert_id")
        return self


class ReportParams(Input):
    from_: Annotated[Instant | None, Field(alias="from")] = None
    to: Instant | None = None
    plant_id: Id | None = None
    format: Literal["html", "md", "json"] = "html"

    @model_validator(mode="after")
    def _ordered(self) -> ReportParams:
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("from must be before to")
        return self


class ExportParams(Input):
    operation: Literal["export"] = "export"
    entity: Literal["orders", "assets", "readings", "audit", "parts", "stock"]
    filters: dict[str, Any] = {}


class ImportParams(Input):
    """CSV import of assets or parts, from a file uploaded with the job request."""

    operation: Literal["import"]
    entity: Literal["assets", "parts"] = "assets"
    csv: Annotated[str, StringConstraints(max_length=20_000_000)]
    valid_rows_only: bool = False


class MaintenanceParams(Input):
    as_of: date | None = None


class CacheParams(Input):
    plant_ids: Annotated[list[Id], Field(max_length=1000)] | None = None


class SearchParams(Input):
    entity: Literal["orders", "assets", "audit"] | None = None


class BackupParams(Input):
    keep: Annotated[int, Field(ge=1, le=1000)] | None = None


class CleanupParams(Input):
    dry_run: bool = False


PARAMS: dict[JobKind, type[Input]] = {
    JobKind.EMAIL: EmailParams,
    JobKind.REPORTS: ReportParams,
    JobKind.EXPORTS: ExportParams,
    JobKind.MAINTENANCE: MaintenanceParams,
    JobKind.CACHE: CacheParams,
    JobKind.SEARCH: SearchParams,
    JobKind.BACKUP: BackupParams,
    JobKind.CLEANUP: CleanupParams,
}


class JobQuery(Input):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None
    status: JobStatus | None = None
    kind: JobKind | None = None


def backoff(attempt: int, *, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1-based): exponential, capped, with ±50% jitter."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return float(delay * (rng or random).uniform(0.5, 1.5))


def params_model(kind: JobKind, params: dict[str, Any]) -> type[Input]:
    """The model a job's params must satisfy (an exports job may also be a CSV import)."""
    if kind == JobKind.EXPORTS and params.get("operation") == "import":
        return ImportParams
    return PARAMS[kind]
