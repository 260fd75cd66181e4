"""How the PostgreSQL search reaches its database: tenant-scoped transactions and prepared statements.

The search layer does not import `cmms.db`: these helpers reach the database through the pool
they are given, scoped to the tenant by row-level security (`cmms.tenant_id`, transaction-local).

A search costs one round trip per statement: `scoped` sends the tenant's scope and the statement
in one simple query, which PostgreSQL runs as one implicit transaction (the pool's connections
are in autocommit), so the transaction-local setting lasts exactly as long as the statement and
an error rolls both back. BEGIN, the scope and COMMIT as separate round trips cost a third of
a millisecond per search.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2.extras

Cursor = Any  # aiopg cursor with a RealDictCursor factory

# Search statements are short: compiling them (JIT) would cost more than running them.
SCOPE = "SELECT set_config('cmms.tenant_id', %s, true), set_config('jit', 'off', true)"
# A prepared search statement is planned once per connection: its plan does not depend on the
# values (the candidate functions plan their own statements), but a custom plan can look
# cheaper when a NULL parameter folds a branch away, and PostgreSQL would then plan the
# statement again at every execution (a millisecond each).
PREPARED_SCOPE = SCOPE + ", set_config('plan_cache_mode', 'force_generic_plan', true)"


@asynccontextmanager
async def tenant_transaction(pool: Any, tenant_id: int | None) -> AsyncIterator[Cursor]:
    """A transaction limited to one tenant by row-level security (None: tenant-less tables)."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            async with cur.begin():
                await cur.execute(SCOPE, ("" if tenant_id is None else str(tenant_id),))
                yield cur


@asynccontextmanager
async def connection(pool: Any) -> AsyncIterator[Cursor]:
    """A cursor on a pooled connection, in no transaction: each `scoped` statement is its own."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur


async def scoped(
    cur: Cursor, tenant_id: int, sql: str, params: Sequence[Any] = (), scope: str = SCOPE
) -> list[dict[str, Any]]:
    """The rows of one statement (%s parameters) run for one tenant, in one round trip."""
    await cur.execute(f"{scope}; {sql}", (str(tenant_id), *params))
    return [dict(r) for r in await cur.fetchall()]


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


async def execute_prepared(cur: Cursor, tenant_id: int, statement: Prepared, params: dict[str, Any]) -> dict[str, Any]:
    """Run a statement for one tenant (`scoped`), preparing it first on this connection (planning
    it cost more than running it). Its plan does not depend on the query: the selective part runs
    inside the candidate functions, which plan their own statements with the actual values."""
    done = _PREPARED_ON.setdefault(cur.connection, set())
    if statement.name not in done:
        await cur.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", (statement.name,))
        if await cur.fetchone() is None:
            await cur.execute(f"PREPARE {statement.name} AS {statement.text}")
        done.add(statement.name)
    placeholders = ", ".join(["%s"] * len(statement.names))
    values = [params[n] for n in statement.names]
    rows = await scoped(cur, tenant_id, f"EXECUTE {statement.name} ({placeholders})", values, PREPARED_SCOPE)
    return rows[0]
