"""The aiopg pool and the one way to run SQL: a transaction scoped to a tenant.

Pool connections switch to the `cmms_app` role, which cannot bypass row-level security, so a
query that forgets its tenant filter still sees only the tenant named by `cmms.tenant_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiopg
import psycopg2
import psycopg2.extras

from cmms.domain.errors import Unavailable

APP_ROLE = "cmms_app"
Cursor = Any  # aiopg.Cursor with a RealDictCursor factory: rows are dicts
LOST = (psycopg2.OperationalError, psycopg2.InterfaceError, OSError, TimeoutError)


@asynccontextmanager
async def open_pool(
    dsn: str, *, minsize: int, maxsize: int, statement_timeout_ms: int, connect_timeout: float = 5.0
) -> AsyncIterator[aiopg.Pool]:
    """The pool. `connect_timeout` bounds waiting for a connection and for BEGIN, so a database
    that is down or hung answers a request with 503 within seconds instead of holding it."""
    async def on_connect(conn: aiopg.Connection) -> None:
        async with conn.cursor() as cur:
            await cur.execute(f"SET ROLE {APP_ROLE}")
            await cur.execute("SELECT set_config('statement_timeout', %s, false)", (str(statement_timeout_ms),))
            await cur.execute("SET TIME ZONE 'UTC'")

    pool = await aiopg.create_pool(
        dsn, minsize=minsize, maxsize=maxsize, on_connect=on_connect, timeout=statement_timeout_ms / 1000 + 5
    )
    pool.cmms_connect_timeout = connect_timeout  # type: ignore[attr-defined]  # read by `_begun`
    try:
        yield pool
    finally:
        pool.close()
        await pool.wait_closed()


@asynccontextmanager
async def transaction(pool: aiopg.Pool, tenant_id: int | None) -> AsyncIterator[Cursor]:
    """A transaction whose rows are limited to one tenant (None: only tenant-less tables)."""
    async with _begun(pool) as cur:
        if tenant_id is not None:
            await cur.execute("SELECT set_config('cmms.tenant_id', %s, true)", (str(tenant_id),))
        yield cur


@asynccontextmanager
async def _begun(pool: aiopg.Pool) -> AsyncIterator[Cursor]:
    """BEGIN on a connection that answers, COMMIT on success, ROLLBACK otherwise.

    After a database restart the pool still holds connections to the old server; the first
    statement finds each dead. Nothing of the caller has run at BEGIN, so a connection lost there
    is dropped and BEGIN tried once more on a new one; a second failure is `Unavailable` (503).
    """
    limit = getattr(pool, "cmms_connect_timeout", 5.0)
    for attempt in (1, 2):
        try:
            async with asyncio.timeout(limit):
                conn = await pool.acquire()
        except LOST as exc:
            raise Unavailable("the database is unavailable; try again") from exc
        cur = None
        try:
            cur = await conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
            try:
                async with asyncio.timeout(limit):
                    await cur.execute("BEGIN")
            except LOST as exc:
                conn.close()
                if attempt == 2 or isinstance(exc, TimeoutError):  # a hung server: do not wait twice
                    raise Unavailable("the database is unavailable; try again") from exc
                continue
            try:
                yield cur
            except BaseException:
                with contextlib.suppress(*LOST, asyncio.CancelledError):
                    if not conn.closed:
                        await cur.execute("ROLLBACK")
                raise
            await cur.execute("COMMIT")
            return
        finally:
            if cur is not None and not conn.closed:
                cur.close()
            await pool.release(conn)


async def fetchone(cur: Cursor, sql: str, params: Any = ()) -> dict[str, Any] | None:
    await cur.execute(sql, params)
    row = await cur.fetchone()
    return dict(row) if row is not None else None


async def fetchall(cur: Cursor, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    await cur.execute(sql, params)
    return [dict(r) for r in await cur.fetchall()]
