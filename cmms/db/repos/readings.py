"""Meter readings of an asset: a time series, newest first by the time of the reading."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.errors import ValidationFailed

TABLE = "meter_readings"
COLUMNS = "id, asset_id, meter, value, at"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


async def insert_many(
    cur: Cursor, tenant_id: int, asset_id: int, readings: list[tuple[str, float, datetime]]
) -> list[dict[str, Any]]:
    """Insert a batch in one statement; rows come back in the order given."""
    meters, values, times = (list(column) for column in zip(*readings, strict=True))
    return await fetchall(
        cur,
        "WITH batch AS ("
        "  INSERT INTO meter_readings (tenant_id, asset_id, meter, value, at)"
        "  SELECT %s, %s, r.meter, r.value, r.at"
        "  FROM unnest(%s::text[], %s::float8[], %s::timestamptz[]) WITH ORDINALITY AS r(meter, value, at, n)"
        "  ORDER BY r.n"
        f"  RETURNING {COLUMNS}"
        f") SELECT {COLUMNS} FROM batch ORDER BY id",
        (tenant_id, asset_id, meters, values, times),
    )


def encode_cursor(at: datetime, id_: int) -> str:
    micros = (at - EPOCH) // MICRO
    return base64.urlsafe_b64encode(f"at:{micros}:{id_}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, micros, id_ = text.split(":")
        if kind != "at":
            raise ValueError(kind)
        at = EPOCH + int(micros) * MICRO
        return at, int(id_)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("not a cursor this API returned", field="cursor") from None


async def list_page(
    cur: Cursor,
    tenant_id: int,
    asset_id: int,
    *,
    meter: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Keyset on (at, id) descending: stable under inserts, including back-dated ones."""
    parts = ["tenant_id = %s", "asset_id = %s"]
    params: list[Any] = [tenant_id, asset_id]
    if meter is not None:
        parts.append("meter = %s")
        params.append(meter)
    if since is not None:
        parts.append("at >= %s")
        params.append(since)
    if until is not None:
        parts.append("at < %s")
        params.append(until)
    after = decode_cursor(cursor)
    if after is not None:
        parts.append("(at, id) < (%s, %s)")
        params.extend(after)
    rows = await fetchall(
        cur,
        f"SELECT {COLUMNS} FROM meter_readings WHERE {' AND '.join(parts)} ORDER BY at DESC, id DESC LIMIT %s",
        [*params, limit + 1],
    )
    next_cursor = encode_cursor(rows[limit - 1]["at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def latest_value(cur: Cursor, tenant_id: int, asset_id: int, meter: str) -> float | None:
    row = await fetchone(
        cur,
        "SELECT value FROM meter_readings WHERE tenant_id = %s AND asset_id = %s AND meter = %s"
        " ORDER BY at DESC, id DESC LIMIT 1",
        (tenant_id, asset_id, meter),
    )
    return None if row is None else float(row["value"])
