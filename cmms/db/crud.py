"""Generic row operations shared by the repositories: insert, versioned update, keyset pages.

Table and column names are composed with psycopg2.sql identifiers, never with string formatting
of caller data.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from psycopg2 import sql

from cmms.db.jsonb import jsonb
from cmms.db.pool import Cursor, fetchall, fetchone
from cmms.domain.errors import NotFound, StaleVersion, ValidationFailed

JSON_COLUMNS = frozenset({"meters", "changes", "data"})


def _value(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return jsonb(value)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        return value.value
    return value


async def insert(cur: Cursor, table: str, values: dict[str, Any]) -> dict[str, Any]:
    columns = list(values)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    row = await fetchone(cur, query, [_value(c, values[c]) for c in columns])
    assert row is not None
    return row


async def get(cur: Cursor, table: str, tenant_id: int, id_: int, *, lock: bool = False) -> dict[str, Any]:
    query = sql.SQL("SELECT * FROM {} WHERE tenant_id = %s AND id = %s" + (" FOR UPDATE" if lock else "")).format(
        sql.Identifier(table)
    )
    row = await fetchone(cur, query, (tenant_id, id_))
    if row is None:
        raise NotFound(f"{table.rstrip('s').replace('_', ' ')} {id_} not found")
    return row


def check_version(current: dict[str, Any], expected_version: int | None) -> None:
    """412 when If-Match named a version other than the row's."""
    if expected_version is not None and expected_version != current["version"]:
        raise StaleVersion(current["version"])


async def update(
    cur: Cursor, table: str, current: dict[str, Any], changes: dict[str, Any], expected_version: int | None
) -> dict[str, Any]:
    """Write `changes` to a row read FOR UPDATE, bumping its version (412 on a stale If-Match)."""
    check_version(current, expected_version)
    changes = {k: v for k, v in changes.items() if current.get(k) != v}
    if not changes:
        return current  # nothing differs: no write, no new version
    columns = list(changes)
    query = sql.SQL(
        "UPDATE {} SET {}, version = version + 1, updated_at = now() WHERE tenant_id = %s AND id = %s RETURNING *"
    ).format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns),
    )
    params = [_value(c, changes[c]) for c in columns] + [current["tenant_id"], current["id"]]
    row = await fetchone(cur, query, params)
    assert row is not None
    return row


async def delete(cur: Cursor, table: str, tenant_id: int, id_: int) -> None:
    await cur.execute(
        sql.SQL("DELETE FROM {} WHERE tenant_id = %s AND id = %s").format(sql.Identifier(table)), (tenant_id, id_)
    )


class Where:
    """AND-ed conditions collected from a filter model."""

    def __init__(self, tenant_id: int) -> None:
        self.parts: list[sql.Composable] = [sql.SQL("tenant_id = %s")]
        self.params: list[Any] = [tenant_id]

    def eq(self, column: str, value: Any) -> Where:
        if value is not None:
            self.parts.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            self.params.append(_value(column, value))
        return self

    def any_of(self, column: str, values: list[Any] | None) -> Where:
        if values:
            self.parts.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(column)))
            self.params.append([_value(column, v) for v in values])
        return self

    def raw(self, condition: str, *params: Any) -> Where:
        self.parts.append(sql.SQL(condition))
        self.params.extend(params)
        return self


def encode_cursor(id_: int) -> str:
    return base64.urlsafe_b64encode(f"id:{id_}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed("not a cursor this API returned", field="cursor") from None


async def page(
    cur: Cursor, table: str, where: Where, *, limit: int, cursor: str | None, columns: str = "*"
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, keyset on id: stable under inserts, O(limit) at any depth."""
    after = decode_cursor(cursor)
    if after is not None:
        where.raw("id < %s", after)
    query = sql.SQL("SELECT " + columns + " FROM {} WHERE {} ORDER BY id DESC LIMIT %s").format(
        sql.Identifier(table), sql.SQL(" AND ").join(where.parts)
    )
    rows = await fetchall(cur, query, [*where.params, limit + 1])
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return rows[:limit], next_cursor
