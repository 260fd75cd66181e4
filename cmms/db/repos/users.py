"""Users of a tenant."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

PUBLIC = ("id", "email", "name", "role", "active", "created_at", "updated_at", "version")


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A user as the API shows it: never the password hash; the hourly rate as a money string."""
    out = {k: row[k] for k in PUBLIC}
    rate = row.get("hourly_rate")
    out["hourly_rate"] = None if rate is None else f"{rate:.2f}"
    return out


async def by_email(cur: Cursor, tenant_id: int, email: str) -> dict[str, Any] | None:
    return await fetchone(cur, "SELECT * FROM users WHERE tenant_id = %s AND email = %s", (tenant_id, email))


async def get(cur: Cursor, tenant_id: int, user_id: int, *, lock: bool = False) -> dict[str, Any]:
    return await crud.get(cur, "users", tenant_id, user_id, lock=lock)


async def directory(cur: Cursor, tenant_id: int) -> list[dict[str, Any]]:
    """Every user of the tenant, by id, with only what a name lookup needs."""
    return await fetchall(
        cur, "SELECT id, name, email, role, active FROM users WHERE tenant_id = %s ORDER BY id", (tenant_id,)
    )
