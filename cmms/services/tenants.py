"""Tenants: created by operators from the command line."""

from __future__ import annotations

import re
from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import tenants
from cmms.domain.errors import Conflict, ValidationFailed
from cmms.services.deps import Deps

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


async def create(deps: Deps, name: str, display_name: str | None = None) -> dict[str, Any]:
    slug = name.strip().lower()
    if not NAME.match(slug):
        raise ValidationFailed("a tenant name is 1-63 lowercase letters, digits, '-' or '_'", field="name")
    async with transaction(deps.pool, None) as cur:
        if await tenants.by_name(cur, slug) is not None:
            raise Conflict(f"tenant {slug} already exists", field="name")
        return await tenants.create(cur, slug, display_name or name.strip())


async def all_ids(deps: Deps) -> list[int]:
    async with transaction(deps.pool, None) as cur:
        return await tenants.all_ids(cur)


async def find(deps: Deps, name: str) -> dict[str, Any] | None:
    async with transaction(deps.pool, None) as cur:
        return await tenants.by_name(cur, name)
