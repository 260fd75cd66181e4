"""The checklist rules without a database: item definitions, value checks and results."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from cmms.domain.checklist import (
    ItemResult,
    ProcedureIn,
    ProcedureItemIn,
    check_value,
    follow_up_title,
    missing_required,
    template_items,
)
from cmms.domain.errors import ValidationFailed

NUMBER = {"type": "number", "min": 1.0, "max": 4.5}


@pytest.mark.parametrize(
    ("item", "value", "stored", "result"),
    [
        ({"type": "checkbox"}, True, True, ItemResult.OK),
        ({"type": "checkbox"}, False, None, None),
        ({"type": "pass_fail"}, "pass", "pass", ItemResult.OK),
        ({"type": "pass_fail"}, "flag", "flag", ItemResult.FLAG),
        ({"type": "pass_fail"}, "fail", "fail", ItemResult.FAIL),
        (NUMBER, 1, 1.0, ItemResult.OK),
        (NUMBER, 4.5, 4.5, ItemResult.OK),
        (NUMBER, 0.99, 0.99, ItemResult.FAIL),
        (NUMBER, 4.51, 4.51, ItemResult.FAIL),
        ({"type": "number"}, -1e15, -1e15, ItemResult.OK),
        ({"type": "meter", "meter": "hours", "max": 10}, 11, 11.0, ItemResult.FAIL),
        ({"type": "text"}, " ok ", "ok", ItemResult.OK),
        ({"type": "choice", "options": ["a", "b"]}, "b", "b", ItemResult.OK),
        ({"type": "text"}, None, None, None),
    ],
)
def test_values_and_results(item: dict[str, Any], value: Any, stored: Any, result: ItemResult | None) -> None:
    recorded = check_value(item, value)
    assert (recorded.value, recorded.result) == (stored, result)


@pytest.mark.parametrize(
    ("item", "value"),
    [
        ({"type": "heading"}, True),
        ({"type": "checkbox"}, 1),
        ({"type": "pass_fail"}, "PASS"),
        ({"type": "number"}, True),
        ({"type": "number"}, "3"),
        ({"type": "number"}, math.inf),
        ({"type": "number"}, math.nan),
        ({"type": "number"}, 1e16),
        ({"type": "text"}, ""),
        ({"type": "text"}, "x" * 2001),
        ({"type": "choice", "options": ["a", "b"]}, "c"),
        ({"type": "meter", "meter": "h"}, [1]),
    ],
)
def test_bad_values_name_the_value(item: dict[str, Any], value: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_value(item, value)
    assert caught.value.field == "value"


@pytest.mark.parametrize(
    "item",
    [
        {"label": "x", "type": "choice", "options": ["only"]},
        {"label": "x", "type": "choice", "options": ["a", "a"]},
        {"label": "x", "type": "checkbox", "options": ["a", "b"]},
        {"label": "x", "type": "meter"},
        {"label": "x", "type": "text", "unit": "mm"},
        {"label": "x", "type": "number", "min": 5, "max": 1},
        {"label": "x", "type": "heading", "required": True},
        {"label": "x", "type": "number", "meter": "h"},
        {"label": "x", "type": "sketch"},
    ],
)
def test_item_definitions_fit_their_type(item: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ProcedureItemIn.model_validate(item)


def test_template_items_are_numbered_and_lean() -> None:
    proc = ProcedureIn.model_validate(
        {"name": "p", "items": [{"label": "A", "type": "heading"}, {"label": "B", "type": "number", "max": 3}]}
    )
    assert template_items(proc.items) == [
        {"position": 1, "label": "A", "type": "heading", "required": False},
        {"position": 2, "label": "B", "type": "number", "required": False, "max": 3.0},
    ]


def test_missing_required_and_titles() -> None:
    items = [
        {"id": 1, "required": True, "value": None},
        {"id": 2, "required": True, "value": "x"},
        {"id": 3, "required": False, "value": None},
    ]
    assert [i["id"] for i in missing_required(items)] == [1]
    assert follow_up_title("Seal", "WO-000007") == "Follow-up WO-000007: Seal failed"
    assert len(follow_up_title("x" * 300, "WO-000007")) == 200
