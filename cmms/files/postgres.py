"""The default file store: objects as fixed-size chunks in PostgreSQL, streamed in and out.

Everything lives in the database, so `cmms backup` (pg_dump) carries the files with the rows that
point at them, and every node reads what any node wrote. Row-level security scopes objects to a
tenant like every tenant table. Like `cmms.search`, this layer does not import `cmms.db`: it runs
its statements on the pool it is given, in transactions that name their tenant.

An upload is one transaction: the object row, its chunks, then its size and hash. A failure or a
cancellation rolls it back whole, so there is never a partial object. The price is a pooled
connection held for the duration of an upload (bounded by `[files] max_bytes`). Downloads read a
few chunks per short transaction, so a slow client holds no connection between reads.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from cmms.files.base import CHUNK, Meter, Stored

Cursor = Any  # aiopg cursor (tuples)
BATCH = 2  # chunks per SELECT while reading (512 KiB; psycopg2 holds them hex-encoded too)


@asynccontextmanager
async def _transaction(pool: Any, scope: int | None) -> AsyncIterator[Cursor]:
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            async with cur.begin():
                await cur.execute(
                    "SELECT set_config('cmms.tenant_id', %s, true)", ("" if scope is None else str(scope),)
                )
                yield cur


def _uuid(key: str) -> str | None:
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return None


class PostgresFiles:
    name = "postgres"

    def __init__(self, pool: Any, chunk_size: int = CHUNK) -> None:
        self.pool = pool
        self.chunk_size = chunk_size

    async def put(self, scope: int | None, chunks: AsyncIterable[bytes], *, limit: int | None = None) -> Stored:
        key = str(uuid.uuid4())
        meter = Meter(limit)
        size = self.chunk_size
        async with _transaction(self.pool, scope) as cur:
            await cur.execute(
                "INSERT INTO file_objects (key, tenant_id, chunk_size) VALUES (%s, %s, %s)", (key, scope, size)
            )
            seq = 0
            pending = bytearray()
            async for piece in chunks:
                meter.feed(piece)
                pending += piece
                while len(pending) >= size:
                    await self._chunk(cur, key, seq, scope, bytes(pending[:size]))
                    del pending[:size]
                    seq += 1
            if pending:
                await self._chunk(cur, key, seq, scope, bytes(pending))
            await cur.execute(
                "UPDATE file_objects SET size = %s, sha256 = %s WHERE key = %s", (meter.size, meter.sha256, key)
            )
        return Stored(key, meter.size, meter.sha256)

    @staticmethod
    async def _chunk(cur: Cursor, key: str, seq: int, scope: int | None, data: bytes) -> None:
        await cur.execute(
            "INSERT INTO file_chunks (key, seq, tenant_id, data) VALUES (%s, %s, %s, %s)",
            (key, seq, scope, data),
        )

    async def _head(self, scope: int | None, key: str) -> tuple[int, int] | None:
        found = _uuid(key)
        if found is None:
            return None
        async with _transaction(self.pool, scope) as cur:
            await cur.execute("SELECT size, chunk_size FROM file_objects WHERE key = %s", (found,))
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else None

    async def read(self, scope: int | None, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        head = await self._head(scope, key)
        if head is None:
            return
        size, chunk = head
        end = size if end is None else min(end, size)
        if start >= end:
            return
        seq, last = start // chunk, (end - 1) // chunk
        while seq <= last:
            upto = min(seq + BATCH - 1, last)
            async with _transaction(self.pool, scope) as cur:
                await cur.execute(
                    "SELECT seq, data FROM file_chunks WHERE key = %s AND seq BETWEEN %s AND %s ORDER BY seq",
                    (key, seq, upto),
                )
                rows = await cur.fetchall()
            if len(rows) != upto - seq + 1:
                return  # deleted while being read: stop short rather than send a hole
            for number, data in rows:
                view = memoryview(data)
                offset = number * chunk
                lo = max(start - offset, 0)
                hi = min(end - offset, len(view))
                yield bytes(view[lo:hi])
            seq = upto + 1

    async def size(self, scope: int | None, key: str) -> int | None:
        head = await self._head(scope, key)
        return head[0] if head else None

    async def delete(self, scope: int | None, key: str) -> bool:
        found = _uuid(key)
        if found is None:
            return False
        async with _transaction(self.pool, scope) as cur:
            await cur.execute("DELETE FROM file_objects WHERE key = %s", (found,))
            return bool(cur.rowcount)

    async def keys(self, scope: int | None) -> list[str]:
        async with _transaction(self.pool, scope) as cur:
            await cur.execute("SELECT key::text FROM file_objects WHERE tenant_id IS NOT DISTINCT FROM %s", (scope,))
            return [r[0] for r in await cur.fetchall()]

    async def created_before(self, scope: int | None, before: datetime) -> list[str]:
        async with _transaction(self.pool, scope) as cur:
            await cur.execute(
                "SELECT key::text FROM file_objects WHERE tenant_id IS NOT DISTINCT FROM %s AND created_at < %s",
                (scope, before),
            )
            return [r[0] for r in await cur.fetchall()]

    async def health(self) -> dict[str, object]:
        return {"ok": True, "backend": self.name}

    async def close(self) -> None:
        return None
