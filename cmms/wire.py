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


class JsonDict(dict[str, Any]):
    """A document with its JSON encoding attached: the cache hands these out, answers send `json`."""

    __slots__ = ("json",)
    json: bytes


class JsonList(list[Any]):
    """A list with its JSON encoding attached (a page of items, say)."""

    __slots__ = ("json",)
    json: bytes


def with_json(value: Any, body: bytes | None = None) -> Any:
    """`value` carrying its encoding (`body` when the caller has it), and so do its lists and
    documents one level down, so that the items of a cached page are not encoded again either."""
    if not isinstance(value, (list, tuple)):
        return _attached(value, body)
    frozen = JsonList(_attached(v) for v in value)
    frozen.json = body if body is not None else dumps_bytes(value)
    return frozen


def _attached(value: Any, body: bytes | None = None) -> Any:
    """A dict or list as JsonDict/JsonList with its own encoding; anything else as it is."""
    if isinstance(value, dict):
        frozen: JsonDict | JsonList = JsonDict(value)
    elif isinstance(value, list):
        frozen = JsonList(value)
    else:
        return value
    frozen.json = body if body is not None else dumps_bytes(value)
    return frozen


def dumps_bytes(value: Any) -> bytes:
    if isinstance(value, (JsonDict, JsonList)):
        return value.json
    return orjson.dumps(value, default=_default, option=OPTIONS)


def dumps(value: Any) -> str:
    return dumps_bytes(value).decode()
