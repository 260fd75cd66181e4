"""The product's types: what callers send (validated) and what they get back (for the schema).

Inputs forbid unknown fields, so a misspelt field is an error naming it instead of a silent no-op.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cmms.domain.roles import Role
from cmms.domain.workflow import Status

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
]


class Criticality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


Priority = Criticality


class AssetStatus(StrEnum):
    OPERATIONAL = "operational"
    DOWN = "down"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class OrderType(StrEnum):
    CORRECTIVE = "corrective"
    PREVENTIVE = "preventive"
    INSPECTION = "inspection"
    EMERGENCY = "emergency"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


def _no_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold U+0000; refuse it here, naming the field, instead of failing later."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character (U+0000)")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


# Characters str_strip_whitespace trims (Unicode White_Space) that an ECMA `\s` leaves out.
_BLANK = "[\\s\\x85]"


def _too_short_once_stripped(min_length: int) -> str:
    """Text with fewer than `min_length` characters between its first and last non-blank one.

    Used under `not`: generators then filter what they draw instead of building long strings to
    a pattern, which is what made a positive pattern slow."""
    edge = "[^\\s\\x85]"
    core = "" if min_length == 1 else edge if min_length == 2 else f"{edge}([\\s\\S]{{0,{min_length - 3}}}{edge})?"
    return f"^{_BLANK}*({core})?{_BLANK}*$" if core else f"^{_BLANK}*$"


def _describe_text(node: Any) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and node.get("minLength", 0) >= 1 and not {"enum", "const"} & node.keys():
        rule = {"not": {"pattern": _too_short_once_stripped(node["minLength"])}}
        if "not" in node:
            node["allOf"] = [*node.get("allOf", []), rule]
        else:
            node.update(rule)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            _describe_text(sub)
    _describe_text(node.get("items"))


def input_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    """Say in the JSON Schema that stripped text must keep its minimum length (`"  "` is no name),
    so schema-driven clients and fuzzers do not send what validation then refuses."""
    if cls.model_config.get("str_strip_whitespace"):
        for prop in schema.get("properties", {}).values():
            _describe_text(prop)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=input_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _text_storable(cls, value: Any) -> Any:
        return _no_nul(value)


K = TypeVar("K")


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null: leave the field out to keep its value")
    return value


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


# A PATCH field that may be left out (None: not sent) but not cleared: null is refused and the
# schema offers none. Validated as K itself, so errors name the field without a union branch.
if TYPE_CHECKING:
    Kept = Annotated[K | None, "left out or a value, never null"]
else:
    Kept = Annotated[K, BeforeValidator(_refuse_null), Field(json_schema_extra=_no_default)]


# ---- auth and users ---------------------------------------------------------------------------


class LoginIn(Input):
    tenant: Name
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RefreshIn(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=512)]


class LogoutIn(Input):
    refresh_token: Annotated[str, StringConstraints(max_length=512)] | None = None


Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]


class UserIn(Input):
    email: Email
    name: Name | None = None
    role: Role
    password: Password


MONEY_PATTERN = r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$"
_MONEY = re.compile(MONEY_PATTERN)


def _money_string(value: Any) -> Any:
    """Money is a decimal string ("1234.50"): never a JSON number, never negative, two places at most."""
    if not isinstance(value, str):
        raise ValueError('money is a decimal string such as "12.50", not a JSON number')
    if not _MONEY.match(value):
        raise ValueError('money is a non-negative decimal string with at most two decimal places, e.g. "12.50"')
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money_string),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["45.00"]}),
]


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


MAX_MAGNITUDE = 1e15


def _utc(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time must fall within the years 1 to 9999 (UTC)") from None
    if not 1900 <= value.year <= 9000:
        raise ValueError("the time must fall within the years 1900 to 9000")
    return value


# A measured value or limit: finite and small enough to survive a JSON round trip exactly.
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
# A point in time: with an offset (naive times are refused), stored and returned in UTC.
# Its schema names the years 1901-8999, which stay within `_utc`'s range whatever the offset.
INSTANT_PATTERN = r"^(190[1-9]|19[1-9][0-9]|[2-8][0-9]{3})-"
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}),
]


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


# ---- list queries -----------------------------------------------------------------------------


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


# ---- outputs (documentation of what the API returns) ------------------------------------------


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
