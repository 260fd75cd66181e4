"""Opaque keyset cursors: what the API hands out decodes back; anything else is a validation error."""

from __future__ import annotations

import base64

import pytest

from cmms.db.crud import decode_cursor, encode_cursor
from cmms.domain.errors import ValidationFailed


@pytest.mark.parametrize("id_", [1, 2, 50, 10**6, 2**63 - 1])
def test_round_trip(id_: int) -> None:
    cursor = encode_cursor(id_)
    assert decode_cursor(cursor) == id_
    assert "=" not in cursor  # URL-safe without padding


@pytest.mark.parametrize("empty", [None, ""])
def test_no_cursor_means_first_page(empty: str | None) -> None:
    assert decode_cursor(empty) is None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "garbage",
    [
        "garbage",
        "!!!",
        "%%%%",
        "\u00e9t\u00e9",
        "a",
        _b64("id:"),
        _b64("id:abc"),
        _b64("page:3"),
        _b64("12"),
        _b64("id:1.5"),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    ],
)
def test_garbage_is_a_validation_error_on_the_cursor_field(garbage: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_cursor(garbage)
    assert exc.value.field == "cursor"
