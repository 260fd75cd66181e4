"""How the PostgreSQL search reaches its database: tenant-scoped transactions and prepared statements.

The search layer does not import `cmms.db`: these helpers reach the database through the pool
they are given, scoped to the tenant by row-level security (`cmms.tenant_id`, transaction-local).
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2.extras

Cursor = Any  # aiopg cursor with a RealDictCursor factory

# Search statements are short: compiling them (JIT) would cost more than running them.
SCOPE = "SELECT set_config('cmms.tenant_id', %s, true), set_config('jit', 'off', true)"


@asynccontextmanager
async def tenant_transaction(pool: Any, tenant_id: int | None) -> AsyncIterator[Cursor]:
    """A transaction limited to one tenant by row-level security (None: tenant-less tables)."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            async with cur.begin():
                await cur.execute(SCOPE, ("" if tenant_id is None else str(tenant_id),))
                yield cur


async def fetch_one(cur: Cursor, sql: str, params: Any = ()) -> dict[str, Any]:
    await cur.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def fetch_all(cur: Cursor, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    await cur.execute(sql, params)
    return [dict(r) for r in await cur.fetchall()]


@dataclass(frozen=True)
class Prepared:
    """One statement in server-side form: its name, $n text and parameter order."""

    name: str
    text: str
    names: tuple[str, ...]


def server_form(label: str, sql: str) -> Prepared:
    """A statement with %(name)s parameters as PREPARE takes it; the name changes with the text."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", number, sql)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return Prepared(f"{label}_{digest}", text, tuple(names))


# Prepared statements live in a connection, so what was prepared where is kept per connection.
_PREPARED_ON: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def forget_prepared() -> None:
    """The server forgot prepared statements (a DISCARD ALL, a pooler): prepare them again."""
    _PREPARED_ON.clear()


async def execute_prepared(cur: Cursor, statement: Prepared, params: dict[str, Any]) -> dict[str, Any]:
    """Run a statement, preparing it first on this connection (planning it cost more than
    running it). Its plan does not depend on the query: the selective part runs inside the
    candidate functions, which plan their own statements with the actual values at every call."""
    done = _PREPARED_ON.setdefault(cur.connection, set())
    if statement.name not in done:
        await cur.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", (statement.name,))
        if await cur.fetchone() is None:
            await cur.execute(f"PREPARE {statement.name} AS {statement.text}")
        done.add(statement.name)
    placeholders = ", ".join(["%s"] * len(statement.names))
    return await fetch_one(cur, f"EXECUTE {statement.name} ({placeholders})", [params[n] for n in statement.names])
