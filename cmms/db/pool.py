"""The aiopg pool and the one way to run SQL: a transaction scoped to a tenant.

Pool connections switch to the `cmms_app` role, which cannot bypass row-level security, so a
query that forgets its tenant filter still sees only the tenant named by `cmms.tenant_id`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiopg
import psycopg2.extras

APP_ROLE = "cmms_app"
Cursor = Any  # aiopg.Cursor with a RealDictCursor factory: rows are dicts


@asynccontextmanager
async def open_pool(dsn: str, *, minsize: int, maxsize: int, statement_timeout_ms: int) -> AsyncIterator[aiopg.Pool]:
    async def on_connect(conn: aiopg.Connection) -> None:
        async with conn.cursor() as cur:
            await cur.execute(f"SET ROLE {APP_ROLE}")
            await cur.execute("SELECT set_config('statement_timeout', %s, false)", (str(statement_timeout_ms),))
            await cur.execute("SET TIME ZONE 'UTC'")

    pool = await aiopg.create_pool(dsn, minsize=minsize, maxsize=maxsize, on_connect=on_connect, timeout=30.0)
    try:
        yield pool
    finally:
        pool.close()
        await pool.wait_closed()


@asynccontextmanager
async def transaction(pool: aiopg.Pool, tenant_id: int | None) -> AsyncIterator[Cursor]:
    """A transaction whose rows are limited to one tenant (None: only tenant-less tables)."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            async with cur.begin():
                if tenant_id is not None:
                    await cur.execute("SELECT set_config('cmms.tenant_id', %s, true)", (str(tenant_id),))
                yield cur


async def fetchone(cur: Cursor, sql: str, params: Any = ()) -> dict[str, Any] | None:
    await cur.execute(sql, params)
    row = await cur.fetchone()
    return dict(row) if row is not None else None


async def fetchall(cur: Cursor, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    await cur.execute(sql, params)
    return [dict(r) for r in await cur.fetchall()]
