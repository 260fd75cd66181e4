"""JSON as the product writes it everywhere (API, cache, events): RFC 3339 UTC timestamps with "Z"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Decimal):  # money and quantities: exact decimal strings, never floats
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=OPTIONS)


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()
