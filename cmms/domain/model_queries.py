"""The list endpoints' query strings: paging, and the filters of each list."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from cmms.domain.model_types import (
    AlertStatus,
    AssetStatus,
    Code,
    Criticality,
    Id,
    Input,
    Instant,
    OrderType,
    Priority,
    Severity,
)
from cmms.domain.roles import Role
from cmms.domain.workflow import Status


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return value


class PageQuery(Input):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str, StringConstraints(max_length=64)] | None = None


class OrderQuery(PageQuery):
    status: Annotated[list[Status], BeforeValidator(_split)] | None = None
    priority: Annotated[list[Priority], BeforeValidator(_split)] | None = None
    type: Annotated[list[OrderType], BeforeValidator(_split)] | None = None
    asset_id: Id | None = None
    plant_id: Id | None = None
    assignee_id: Id | None = None
    requested_by: Id | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None


class AssetQuery(PageQuery):
    plant_id: Id | None = None
    parent_id: Id | None = None
    status: Annotated[list[AssetStatus], BeforeValidator(_split)] | None = None
    criticality: Annotated[list[Criticality], BeforeValidator(_split)] | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None


class PlanQuery(PageQuery):
    asset_id: Id | None = None
    active: bool | None = None


class AlertQuery(PageQuery):
    status: Annotated[list[AlertStatus], BeforeValidator(_split)] | None = None
    severity: Annotated[list[Severity], BeforeValidator(_split)] | None = None
    asset_id: Id | None = None


class ReadingQuery(PageQuery):
    meter: Code | None = None
    since: Instant | None = None
    until: Instant | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class AuditQuery(PageQuery):
    entity: Annotated[str, StringConstraints(max_length=32)] | None = None
    entity_id: Id | None = None
    actor_id: Id | None = None


class UserQuery(PageQuery):
    role: Role | None = None
