"""Claims of periodic-job periods: one row per (job, period), so each period runs once."""

from __future__ import annotations

from cmms.db.pool import Cursor


async def claim(cur: Cursor, name: str, slot: int) -> bool:
    await cur.execute(
        "INSERT INTO periodic_runs (name, slot) VALUES (%s, %s) ON CONFLICT DO NOTHING", (name, slot)
    )
    return bool(cur.rowcount)


async def purge(cur: Cursor, older_than_days: int) -> int:
    await cur.execute(
        "DELETE FROM periodic_runs WHERE claimed_at < now() - make_interval(days => %s)", (older_than_days,)
    )
    return int(cur.rowcount)
