"""JSON for the database and the wire: RFC 3339 UTC timestamps ("Z"), no NaN."""

from __future__ import annotations

from typing import Any

import orjson
from psycopg2.extras import Json

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=_default, option=OPTIONS).decode()


def jsonb(value: Any) -> Json:
    return Json(value, dumps=dumps)
