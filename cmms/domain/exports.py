"""CSV exports: the filters each export takes, and the cell rules shared with the imports
(`cmms.domain.asset_import`, `cmms.domain.part_import`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from cmms.domain.exports_parts import PartFilters, StockFilters
from cmms.domain.model_queries import _split
from cmms.domain.model_types import AssetStatus, Code, Criticality, Id, Input, Instant, OrderType, Priority
from cmms.domain.workflow import Status

Entity = Literal["orders", "assets", "readings", "audit", "parts", "stock"]

# ---- export filters ---------------------------------------------------------------------------


class OrderFilters(Input):
    status: Annotated[list[Status], BeforeValidator(_split)] | None = None
    priority: Annotated[list[Priority], BeforeValidator(_split)] | None = None
    type: Annotated[list[OrderType], BeforeValidator(_split)] | None = None
    plant_id: Id | None = None
    asset_id: Id | None = None
    assignee_id: Id | None = None
    from_: Annotated[Instant | None, Field(alias="from")] = None  # created_at >= from
    to: Instant | None = None  # created_at < to

    @model_validator(mode="after")
    def _ordered(self) -> OrderFilters:
        _check_range(self.from_, self.to, "from", "to")
        return self


class AssetFilters(Input):
    plant_id: Id | None = None
    status: Annotated[list[AssetStatus], BeforeValidator(_split)] | None = None
    criticality: Annotated[list[Criticality], BeforeValidator(_split)] | None = None


class ReadingFilters(Input):
    asset_id: Id | None = None
    meter: Code | None = None
    since: Instant | None = None  # at >= since
    until: Instant | None = None  # at < until

    @model_validator(mode="after")
    def _ordered(self) -> ReadingFilters:
        _check_range(self.since, self.until, "since", "until")
        return self


class AuditFilters(Input):
    entity: Annotated[str, StringConstraints(max_length=32)] | None = None
    actor_id: Id | None = None
    since: Instant | None = None
    until: Instant | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AuditFilters:
        _check_range(self.since, self.until, "since", "until")
        return self


def _check_range(start: Any, end: Any, start_name: str, end_name: str) -> None:
    if start is not None and end is not None and start >= end:
        raise ValueError(f"{start_name} must be before {end_name}")


Filters = OrderFilters | AssetFilters | ReadingFilters | AuditFilters | PartFilters | StockFilters
FILTERS: dict[str, type[Filters]] = {
    "orders": OrderFilters,
    "assets": AssetFilters,
    "readings": ReadingFilters,
    "audit": AuditFilters,
    "parts": PartFilters,
    "stock": StockFilters,
}


def export_filters(entity: str, filters: Mapping[str, Any]) -> Filters:
    """The validated filters of an export (raises pydantic's ValidationError)."""
    return FILTERS[entity].model_validate(dict(filters))


# ---- cells ------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def protect(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (OWASP "CSV injection")."""
    return "'" + text if text.startswith(FORMULA_START) else text


def unprotect(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text
