"""Procedures (checklist templates) and the rules of recording one item of an order's checklist.

A procedure is a list of items; an order gets a copy of them (a snapshot of one revision), so
editing the procedure later never changes what an order asked for or what was recorded on it.
Recording validates the value by the item's type and computes its `result`:

| type      | value                          | result                                         |
|-----------|--------------------------------|------------------------------------------------|
| checkbox  | true / false                   | true: ok; false: unticked (no value, no result) |
| pass_fail | "pass" / "flag" / "fail"       | ok / flag / fail                               |
| number    | a finite JSON number           | fail outside [min, max], else ok               |
| meter     | a finite JSON number           | as number; also stored as a reading of `meter` |
| text      | a non-empty string             | ok                                             |
| choice    | one of `options`               | ok                                             |
| heading   | none (a heading takes no value)| -                                              |

`null` clears an item. A required item counts as done when it has a value (a ticked checkbox).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from cmms.domain.errors import ValidationFailed
from cmms.domain.model_outputs import Resource
from cmms.domain.model_types import MAX_MAGNITUDE, Code, Finite, Input, LongText, Name


class ItemType(StrEnum):
    CHECKBOX = "checkbox"
    PASS_FAIL = "pass_fail"
    NUMBER = "number"
    TEXT = "text"
    CHOICE = "choice"
    METER = "meter"
    HEADING = "heading"


class ItemResult(StrEnum):
    OK = "ok"
    FLAG = "flag"
    FAIL = "fail"


PASS_FAIL = {"pass": ItemResult.OK, "flag": ItemResult.FLAG, "fail": ItemResult.FAIL}
MEASURED = frozenset({ItemType.NUMBER, ItemType.METER})
MAX_TEXT = 2000
Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


class ProcedureItemIn(Input):
    label: Name
    type: ItemType
    required: bool = False
    unit: Unit | None = None
    min: Finite | None = None
    max: Finite | None = None
    options: Annotated[list[Option], Field(max_length=50)] | None = None
    meter: Code | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> ProcedureItemIn:
        measured = self.type in MEASURED
        if not measured and (self.unit is not None or self.min is not None or self.max is not None):
            raise ValueError("unit, min and max belong to number and meter items")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        if self.type == ItemType.CHOICE:
            if not self.options or len(self.options) < 2:
                raise ValueError("a choice item needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("options must be unique")
        elif self.options is not None:
            raise ValueError("options belong to choice items")
        if self.type == ItemType.METER and self.meter is None:
            raise ValueError("a meter item names the asset's meter")
        if self.type != ItemType.METER and self.meter is not None:
            raise ValueError("meter belongs to meter items")
        if self.type == ItemType.HEADING and self.required:
            raise ValueError("a heading takes no value, so it cannot be required")
        return self


Items = Annotated[list[ProcedureItemIn], Field(min_length=1, max_length=200)]


class ProcedureIn(Input):
    name: Name
    description: LongText = ""
    items: Items


class ProcedurePatch(Input):
    name: Name | None = None
    description: LongText | None = None
    items: Items | None = None


class AttachIn(Input):
    procedure_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


class ItemRecordIn(Input):
    """`value` is checked against the item's type by `check_value` (the schema cannot know the type)."""

    value: Any = None
    notes: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None


class ProcedureItem(BaseModel):
    position: int
    label: str
    type: ItemType
    required: bool
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    options: list[str] | None = None
    meter: str | None = None


class Procedure(Resource):
    name: str
    description: str
    revision: int
    items: list[ProcedureItem]


class ChecklistItem(BaseModel):
    id: int
    position: int
    label: str
    type: ItemType
    required: bool
    unit: str | None
    min: float | None
    max: float | None
    options: list[str] | None
    meter: str | None
    value: bool | float | str | None
    result: ItemResult | None
    notes: str | None
    done_by: int | None
    done_at: datetime | None
    follow_up_id: int | None
    version: int


class Checklist(BaseModel):
    order_id: int
    procedure_id: int | None
    revision: int
    name: str
    attached_by: int | None
    attached_at: datetime
    items: list[ChecklistItem]
    missing_required: list[int]


def template_items(items: list[ProcedureItemIn]) -> list[dict[str, Any]]:
    """The stored form of a procedure's items: positions from 1, unused attributes left out."""
    return [{"position": i, **item.model_dump(mode="json", exclude_none=True)} for i, item in enumerate(items, start=1)]


@dataclass(frozen=True)
class Recorded:
    value: bool | float | str | None
    result: ItemResult | None


def check_value(item: dict[str, Any], value: Any) -> Recorded:
    """Validate `value` for this item and compute its result; ValidationFailed names `value`."""
    kind = ItemType(item["type"])
    if kind == ItemType.HEADING:
        if value is not None:
            raise ValidationFailed("a heading takes no value", field="value")
        return Recorded(None, None)
    if value is None:
        return Recorded(None, None)
    if kind == ItemType.CHECKBOX:
        if not isinstance(value, bool):
            raise ValidationFailed("a checkbox takes true or false", field="value")
        return Recorded(True, ItemResult.OK) if value else Recorded(None, None)
    if kind == ItemType.PASS_FAIL:
        if not isinstance(value, str) or value not in PASS_FAIL:
            raise ValidationFailed("a pass/fail item takes 'pass', 'flag' or 'fail'", field="value")
        return Recorded(value, PASS_FAIL[value])
    if kind in MEASURED:
        return _measured(item, value)
    if not isinstance(value, str):
        raise ValidationFailed(f"a {kind} item takes a string", field="value")
    text = value.strip()
    if kind == ItemType.CHOICE:
        if text not in (item.get("options") or []):
            raise ValidationFailed(f"choose one of: {', '.join(item.get('options') or [])}", field="value")
        return Recorded(text, ItemResult.OK)
    if not text or len(text) > MAX_TEXT or "\x00" in text:
        raise ValidationFailed(f"a text item takes 1 to {MAX_TEXT} characters (no NUL)", field="value")
    return Recorded(text, ItemResult.OK)


def _measured(item: dict[str, Any], value: Any) -> Recorded:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationFailed("a number item takes a JSON number", field="value")
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_MAGNITUDE:
        raise ValidationFailed(f"the number must be finite and within ±{MAX_MAGNITUDE:g}", field="value")
    low, high = item.get("min"), item.get("max")
    outside = (low is not None and number < low) or (high is not None and number > high)
    return Recorded(number, ItemResult.FAIL if outside else ItemResult.OK)


def is_done(item: dict[str, Any]) -> bool:
    return item.get("value") is not None


def missing_required(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Required items without a value: what stops an order from being completed."""
    return [i for i in items if i["required"] and not is_done(i)]


def missing_detail(missing: list[dict[str, Any]]) -> str:
    names = ", ".join(f"#{i['id']} {i['label']!r}" for i in missing)
    return f"required checklist items have no value: {names}"


def follow_up_title(label: str, number: str) -> str:
    title = f"Follow-up {number}: {label} failed"
    return title if len(title) <= 200 else title[:197] + "..."
