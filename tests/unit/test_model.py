"""Input models: unknown fields, enums, finiteness, aware datetimes, and cross-field rules."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from cmms.domain.model import AssetIn, OrderIn, PlanIn, ReadingIn, ReadingsIn, UserIn
from cmms.domain.model_queries import OrderQuery, PageQuery


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}


def test_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as exc:
        OrderIn.model_validate({"title": "Pump leaks", "colour": "red"})
    assert fields_of(exc) == {"colour"}


def test_strings_are_stripped_and_blank_names_refused() -> None:
    assert OrderIn.model_validate({"title": "  Pump  "}).title == "Pump"
    with pytest.raises(ValidationError) as exc:
        OrderIn.model_validate({"title": "   "})
    assert fields_of(exc) == {"title"}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_reading_is_refused(value: float) -> None:
    with pytest.raises(ValidationError) as exc:
        ReadingIn.model_validate({"meter": "hours", "value": value})
    assert fields_of(exc) == {"value"}


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        OrderIn.model_validate({"title": "x", "due_at": "2030-01-01T00:00:00"})
    assert fields_of(exc) == {"due_at"}
    assert OrderIn.model_validate({"title": "x", "due_at": "2030-01-01T00:00:00Z"}).due_at is not None


@pytest.mark.parametrize("field", ["priority", "type"])
def test_unknown_enum_value_is_refused(field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        OrderIn.model_validate({"title": "x", field: "urgent-ish"})
    assert fields_of(exc) == {field}


@pytest.mark.parametrize("id_", [0, -1, 2**63])
def test_ids_are_positive_bigints(id_: int) -> None:
    with pytest.raises(ValidationError) as exc:
        OrderIn.model_validate({"title": "x", "asset_id": id_})
    assert fields_of(exc) == {"asset_id"}


def test_email_is_normalised_and_checked() -> None:
    user = UserIn.model_validate({"email": " Ann@Example.COM ", "role": "manager", "password": "long-enough"})
    assert user.email == "ann@example.com"
    with pytest.raises(ValidationError) as exc:
        UserIn.model_validate({"email": "not-an-email", "role": "manager", "password": "long-enough"})
    assert fields_of(exc) == {"email"}


def test_short_password_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        UserIn.model_validate({"email": "a@b.c", "role": "manager", "password": "short"})
    assert fields_of(exc) == {"password"}


def test_calendar_plan_needs_an_interval_and_meter_plan_a_meter() -> None:
    with pytest.raises(ValidationError):
        PlanIn.model_validate({"asset_id": 1, "title": "Grease", "trigger": "calendar"})
    with pytest.raises(ValidationError):
        PlanIn.model_validate({"asset_id": 1, "title": "Oil", "trigger": "meter", "meter": "hours"})
    PlanIn.model_validate({"asset_id": 1, "title": "Grease", "interval_days": 30})
    PlanIn.model_validate({"asset_id": 1, "title": "Oil", "trigger": "meter", "meter": "hours", "meter_interval": 500})


def test_asset_meters_are_unique_and_ordered() -> None:
    with pytest.raises(ValidationError):
        AssetIn.model_validate({"name": "Pump", "plant_id": 1, "meters": [{"name": "h"}, {"name": "h"}]})
    with pytest.raises(ValidationError):
        AssetIn.model_validate({"name": "Pump", "plant_id": 1, "meters": [{"name": "t", "min": 5, "max": 1}]})


def test_readings_batch_bounds() -> None:
    with pytest.raises(ValidationError):
        ReadingsIn.model_validate({"readings": []})
    with pytest.raises(ValidationError):
        ReadingsIn.model_validate({"readings": [{"meter": "h", "value": 1}] * 1001})


@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1e3"])
def test_page_limit_bounds(limit: str) -> None:
    with pytest.raises(ValidationError) as exc:
        PageQuery.model_validate({"limit": limit})
    assert fields_of(exc) == {"limit"}


def test_order_query_splits_comma_lists() -> None:
    q = OrderQuery.model_validate({"status": "open,in_progress", "priority": "high"})
    assert q.status == ["open", "in_progress"]
    assert q.priority == ["high"]
    with pytest.raises(ValidationError) as exc:
        OrderQuery.model_validate({"status": "open,bogus"})
    assert fields_of(exc) == {"status.1"}
