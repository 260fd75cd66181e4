"""The product's inputs: what callers send, validated (their building blocks are in model_types).

Inputs forbid unknown fields, so a misspelt field is an error naming it instead of a silent no-op.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator

from cmms.domain.model_types import (
    MAX_MAGNITUDE,
    AssetStatus,
    Code,
    Criticality,
    Email,
    Finite,
    Id,
    Input,
    Instant,
    Kept,
    LongText,
    Money,
    Name,
    OrderType,
    Password,
    Priority,
    Severity,
    ShortText,
    input_schema,
)
from cmms.domain.roles import Role
from cmms.domain.workflow import Status

# ---- auth and users ---------------------------------------------------------------------------


class LoginIn(Input):
    tenant: Name
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RefreshIn(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=512)]


class LogoutIn(Input):
    refresh_token: Annotated[str, StringConstraints(max_length=512)] | None = None


class UserIn(Input):
    email: Email
    name: Name | None = None
    role: Role
    password: Password


class UserPatch(Input):
    name: Name | None = None
    role: Role | None = None
    active: bool | None = None
    password: Password | None = None
    hourly_rate: Money | None = None


# ---- plants and assets ------------------------------------------------------------------------


class PlantIn(Input):
    name: Name
    code: Code | None = None
    address: ShortText | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"


class PlantPatch(Input):
    name: Kept[Name] = None
    code: Code | None = None
    address: ShortText | None = None
    timezone: Kept[Annotated[str, StringConstraints(max_length=64)]] = None


class Meter(Input):
    name: Code
    unit: Annotated[str, StringConstraints(max_length=32)] | None = None
    min: Finite | None = None
    max: Finite | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Meter:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class AssetIn(Input):
    name: Name
    plant_id: Id
    parent_id: Id | None = None
    code: Code | None = None
    type: Annotated[str, StringConstraints(max_length=64)] | None = None
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    serial: ShortText | None = None
    criticality: Criticality = Criticality.MEDIUM
    status: AssetStatus = AssetStatus.OPERATIONAL
    meters: Annotated[list[Meter], Field(max_length=50)] = []

    @field_validator("meters")
    @classmethod
    def _unique_meters(cls, meters: list[Meter]) -> list[Meter]:
        names = [m.name for m in meters]
        if len(names) != len(set(names)):
            raise ValueError("meter names must be unique")
        return meters


class AssetPatch(Input):
    name: Kept[Name] = None
    parent_id: Id | None = None
    code: Code | None = None
    type: Annotated[str, StringConstraints(max_length=64)] | None = None
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    serial: ShortText | None = None
    criticality: Kept[Criticality] = None
    status: Kept[AssetStatus] = None
    meters: Kept[Annotated[list[Meter], Field(max_length=50)]] = None


class ReadingIn(Input):
    meter: Code
    value: Finite
    at: Instant | None = None


class ReadingsIn(Input):
    readings: Annotated[list[ReadingIn], Field(min_length=1, max_length=1000)]


# ---- work orders ------------------------------------------------------------------------------


class OrderIn(Input):
    title: Name
    description: LongText = ""
    type: OrderType = OrderType.CORRECTIVE
    priority: Priority = Priority.MEDIUM
    asset_id: Id | None = None
    plant_id: Id | None = None
    assignee_id: Id | None = None
    due_at: Instant | None = None


class OrderPatch(Input):
    title: Kept[Name] = None
    description: Kept[LongText] = None
    type: Kept[OrderType] = None
    priority: Kept[Priority] = None
    asset_id: Id | None = None
    assignee_id: Id | None = None
    due_at: Instant | None = None
    downtime_minutes: Kept[Annotated[int, Field(ge=0, le=10_000_000)]] = None


class TransitionIn(Input):
    to: Status
    note: LongText | None = None


class NoteIn(Input):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


# ---- plans and alerts -------------------------------------------------------------------------


def _plan_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    """`check_plan_trigger` in JSON Schema: a meter plan names its meter and interval, others their days."""
    input_schema(schema, cls)
    schema["if"] = {"properties": {"trigger": {"const": "meter"}}, "required": ["trigger"]}
    schema["then"] = {
        "required": ["meter", "meter_interval"],
        "properties": {"meter": {"type": "string"}, "meter_interval": {"type": "number"}},
    }
    schema["else"] = {"required": ["interval_days"], "properties": {"interval_days": {"type": "integer"}}}


class PlanIn(Input):
    model_config = ConfigDict(json_schema_extra=_plan_schema)

    asset_id: Id
    title: Name
    instructions: LongText = ""
    trigger: Literal["calendar", "meter"] = "calendar"
    schedule: Literal["fixed", "floating"] = "fixed"
    interval_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    meter: Code | None = None
    meter_interval: Annotated[float, Field(gt=0, le=MAX_MAGNITUDE, allow_inf_nan=False)] | None = None
    lead_days: Annotated[int, Field(ge=0, le=365)] = 7
    priority: Priority = Priority.MEDIUM
    next_due_at: Instant | None = None
    active: bool = True
    procedure_id: Id | None = None

    @model_validator(mode="after")
    def _trigger_complete(self) -> PlanIn:
        check_plan_trigger(self.trigger, self.interval_days, self.meter, self.meter_interval)
        return self


class PlanPatch(Input):
    title: Kept[Name] = None
    instructions: Kept[LongText] = None
    trigger: Kept[Literal["calendar", "meter"]] = None
    schedule: Kept[Literal["fixed", "floating"]] = None
    interval_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    meter: Code | None = None
    meter_interval: Annotated[float, Field(gt=0, le=MAX_MAGNITUDE, allow_inf_nan=False)] | None = None
    lead_days: Kept[Annotated[int, Field(ge=0, le=365)]] = None
    priority: Kept[Priority] = None
    next_due_at: Instant | None = None
    active: Kept[bool] = None
    procedure_id: Id | None = None


def check_plan_trigger(
    trigger: str, interval_days: int | None, meter: str | None, meter_interval: float | None
) -> None:
    if trigger == "calendar" and interval_days is None:
        raise ValueError("a calendar plan needs interval_days")
    if trigger == "meter" and (meter is None or meter_interval is None):
        raise ValueError("a meter plan needs meter and meter_interval")


class AlertIn(Input):
    kind: Code
    severity: Severity = Severity.WARNING
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    asset_id: Id | None = None
