"""The building blocks of the API models: constrained field types, the vocabularies, the `Input` base.

Inputs forbid unknown fields, so a misspelt field is an error naming it instead of a silent no-op.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

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
)

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


Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]

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
