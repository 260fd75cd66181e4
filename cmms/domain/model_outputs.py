"""What the API returns: output models that document the responses in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from cmms.domain.model_types import AlertStatus, AssetStatus, Criticality, OrderType, Priority, Severity
from cmms.domain.roles import Role
from cmms.domain.workflow import Status


class Resource(BaseModel):
    id: int
    created_at: datetime
    updated_at: datetime
    version: int


class User(BaseModel):
    id: int
    email: str
    name: str | None
    role: Role
    active: bool
    hourly_rate: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class Me(BaseModel):
    user: User
    tenant: dict[str, Any]
    role: Role
    last_seq: int


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: User


class Plant(Resource):
    name: str
    code: str | None
    address: str | None
    timezone: str


class Asset(Resource):
    plant_id: int
    parent_id: int | None
    name: str
    code: str | None
    type: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    criticality: Criticality
    status: AssetStatus
    meters: list[dict[str, Any]]


class Reading(BaseModel):
    id: int
    asset_id: int
    meter: str
    value: float
    at: datetime


class Order(Resource):
    number: str
    title: str
    description: str
    type: OrderType
    priority: Priority
    status: Status
    asset_id: int | None
    plant_id: int | None
    assignee_id: int | None
    requested_by: int | None
    plan_id: int | None
    follow_up_of: int | None = None
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    downtime_minutes: int
    allowed_transitions: list[Status] = []


class Note(BaseModel):
    id: int
    order_id: int
    author_id: int | None
    body: str
    created_at: datetime


class Plan(Resource):
    asset_id: int
    title: str
    instructions: str
    trigger: str
    schedule: str
    interval_days: int | None
    meter: str | None
    meter_interval: float | None
    lead_days: int
    priority: Priority
    next_due_at: datetime | None
    next_due_meter: float | None
    last_done_at: datetime | None
    active: bool
    procedure_id: int | None = None


class Alert(Resource):
    asset_id: int | None
    kind: str
    severity: Severity
    status: AlertStatus
    message: str
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    resolved_by: int | None
    resolved_at: datetime | None


class AuditEntry(BaseModel):
    id: int
    actor_id: int | None
    api_key_id: int | None = None  # the API key the change was made with, if any
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, Any]
    request_id: str | None
    at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    request_id: str | None = None
