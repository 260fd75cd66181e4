"""Numbered SQL migrations, applied in order under an advisory lock (safe with many nodes)."""

from __future__ import annotations

import logging
from importlib import resources

import aiopg

log = logging.getLogger(__name__)
LOCK_KEY = 0x434D4D53  # "CMMS"


def available() -> list[tuple[int, str, str]]:
    folder = resources.files("cmms.db").joinpath("migrations")
    found = []
    for item in folder.iterdir():
        if item.name.endswith(".sql"):
            number, _, name = item.name.removesuffix(".sql").partition("_")
            found.append((int(number), name, item.read_text()))
    return sorted(found)


async def migrate(dsn: str) -> list[str]:
    """Apply what is missing; returns the names applied. Runs as the connecting (owner) role."""
    applied: list[str] = []
    async with aiopg.connect(dsn, timeout=30.0) as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            try:
                await cur.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                await cur.execute("SELECT version FROM schema_migrations")
                done = {row[0] for row in await cur.fetchall()}
                for number, name, sql in available():
                    if number in done:
                        continue
                    async with cur.begin():
                        await cur.execute(sql)
                        await cur.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, name)
                        )
                    log.info("migration applied", extra={"migration": f"{number:04d}_{name}"})
                    applied.append(f"{number:04d}_{name}")
            finally:
                await cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied
