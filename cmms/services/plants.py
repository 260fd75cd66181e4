"""Plants (sites): anyone in the tenant reads them; supervisors change them."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import plants
from cmms.domain import events as ev
from cmms.domain.errors import Conflict
from cmms.domain.model import PlantIn, PlantPatch
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import SUPERVISORS, Actor
from cmms.services.common import patch_values, record, record_update, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]


async def list_plants(deps: Deps, actor: Actor, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await plants.list_page(cur, actor.tenant_id, query.limit, query.cursor)


async def get(deps: Deps, actor: Actor, plant_id: int) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return await plants.get(cur, actor.tenant_id, plant_id)


async def create(deps: Deps, actor: Actor, data: PlantIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "create plants")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        row = await crud.insert(cur, plants.TABLE, {"tenant_id": actor.tenant_id, **data.model_dump()})
        await record(
            cur,
            actor,
            action="create",
            entity="plant",
            entity_id=row["id"],
            changes=data.model_dump(),
            event=ev.Event(ev.PLANT_CREATED, row),
        )
        return row


async def update(deps: Deps, actor: Actor, plant_id: int, data: PlantPatch, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "change plants")
    changes = patch_values(data)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        current = await plants.get(cur, actor.tenant_id, plant_id, lock=True)
        row = await crud.update(cur, plants.TABLE, current, changes, version)
        await record_update(
            cur,
            actor,
            entity="plant",
            before=current,
            after=row,
            fields=changes,
            event_type=ev.PLANT_UPDATED,
            audience=ev.TENANT,
        )
        return row


async def delete(deps: Deps, actor: Actor, plant_id: int, version: int | None) -> None:
    require(actor, SUPERVISORS, "delete plants")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        current = await plants.get(cur, actor.tenant_id, plant_id, lock=True)
        crud.check_version(current, version)
        if await plants.in_use(cur, actor.tenant_id, plant_id):
            raise Conflict("assets or work orders still belong to the plant; move or close them first")
        await crud.delete(cur, plants.TABLE, actor.tenant_id, plant_id)
        await record(
            cur,
            actor,
            action="delete",
            entity="plant",
            entity_id=plant_id,
            changes={"name": current["name"]},
            event=ev.Event(ev.PLANT_DELETED, {"id": plant_id}),
        )
