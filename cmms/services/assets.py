"""Assets: anyone in the tenant reads them; supervisors change them.

An asset belongs to one plant; its parent (if any) is an asset of the same plant, and the
hierarchy never loops. An asset that other records still point at cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor
from cmms.db.repos import assets, plants
from cmms.domain import events as ev
from cmms.domain.errors import Conflict, NotFound, ValidationFailed
from cmms.domain.model import AssetIn, AssetPatch
from cmms.domain.model_queries import AssetQuery
from cmms.domain.roles import SUPERVISORS, Actor
from cmms.services.common import (
    cached,
    cached_page,
    mutation,
    patch_values,
    query_key,
    record,
    record_update,
    require,
)
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]

REQUIRED = ("name", "criticality", "status", "meters")  # a PATCH may not null these
BLOCKERS = {
    "children": "child assets",
    "orders": "work orders",
    "plans": "maintenance plans",
    "open_alerts": "unresolved alerts",
}


async def list_assets(deps: Deps, actor: Actor, query: AssetQuery) -> Page:
    return await cached_page(
        deps, actor, "assets", query_key(query), lambda cur: assets.list_page(cur, actor.tenant_id, query)
    )


async def list_for_plant(deps: Deps, actor: Actor, plant_id: int, query: AssetQuery) -> Page:
    scoped = query.model_copy(update={"plant_id": plant_id})

    async def load(cur: Cursor) -> Page:
        await plants.get(cur, actor.tenant_id, plant_id)  # 404 for another tenant's plant
        return await assets.list_page(cur, actor.tenant_id, scoped)

    return await cached_page(deps, actor, "assets", f"plant:{query_key(scoped)}", load)


async def get(deps: Deps, actor: Actor, asset_id: int) -> dict[str, Any]:
    return await cached(deps, actor, "assets", f"id:{asset_id}", lambda cur: assets.get(cur, actor.tenant_id, asset_id))


async def create(deps: Deps, actor: Actor, data: AssetIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "create assets")
    values = data.model_dump()
    async with mutation(deps, actor, "assets") as cur:
        await _check_plant(cur, actor.tenant_id, data.plant_id)
        if data.parent_id is not None:
            await _check_parent(cur, actor.tenant_id, data.parent_id, plant_id=data.plant_id, asset_id=None)
        if data.code is not None:
            await _check_code(cur, actor.tenant_id, data.code, asset_id=None)
        row = await crud.insert(cur, assets.TABLE, {"tenant_id": actor.tenant_id, **values})
        await record(
            cur,
            actor,
            action="create",
            entity="asset",
            entity_id=row["id"],
            changes=values,
            event=ev.Event(ev.ASSET_CREATED, row, ev.TENANT),
        )
        return row


async def update(deps: Deps, actor: Actor, asset_id: int, data: AssetPatch, version: int | None) -> dict[str, Any]:
    require(actor, SUPERVISORS, "change assets")
    changes = patch_values(data)
    for name in REQUIRED:
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be cleared", field=name)
    if data.meters is not None:
        names = [m.name for m in data.meters]
        if len(names) != len(set(names)):
            raise ValidationFailed("meter names must be unique", field="meters")
        changes["meters"] = [m.model_dump() for m in data.meters]
    async with mutation(deps, actor, "assets") as cur:
        current = await assets.get(cur, actor.tenant_id, asset_id, lock=True)
        crud.check_version(current, version)
        if changes.get("parent_id") is not None:
            await assets.lock_tree(cur, actor.tenant_id)
            await _check_parent(
                cur, actor.tenant_id, changes["parent_id"], plant_id=current["plant_id"], asset_id=asset_id
            )
        if changes.get("code") is not None:
            await _check_code(cur, actor.tenant_id, changes["code"], asset_id=asset_id)
        if "meters" in changes:
            await _check_meters_kept(cur, actor.tenant_id, current, changes["meters"])
        row = await crud.update(cur, assets.TABLE, current, changes, version)
        await record_update(
            cur,
            actor,
            entity="asset",
            before=current,
            after=row,
            fields=changes,
            event_type=ev.ASSET_UPDATED,
            audience=ev.TENANT,
        )
        return row


async def delete(deps: Deps, actor: Actor, asset_id: int, version: int | None) -> None:
    require(actor, SUPERVISORS, "delete assets")
    async with mutation(deps, actor, "assets") as cur:
        current = await assets.get(cur, actor.tenant_id, asset_id, lock=True)
        crud.check_version(current, version)
        found = await assets.dependents(cur, actor.tenant_id, asset_id)
        blocking = [label for key, label in BLOCKERS.items() if found.get(key)]
        if blocking:
            raise Conflict(
                f"the asset still has {', '.join(blocking)}; remove or resolve them first, or set status retired"
            )
        await assets.delete(cur, actor.tenant_id, asset_id)
        await record(
            cur,
            actor,
            action="delete",
            entity="asset",
            entity_id=asset_id,
            changes={"name": current["name"], "code": current["code"], "plant_id": current["plant_id"]},
            event=ev.Event(ev.ASSET_DELETED, {"id": asset_id, "plant_id": current["plant_id"]}, ev.TENANT),
        )


async def _check_plant(cur: Cursor, tenant_id: int, plant_id: int) -> None:
    try:
        await plants.get(cur, tenant_id, plant_id)
    except NotFound:
        raise ValidationFailed(f"plant {plant_id} not found", field="plant_id") from None


async def _check_parent(cur: Cursor, tenant_id: int, parent_id: int, *, plant_id: int, asset_id: int | None) -> None:
    parent = await assets.find(cur, tenant_id, parent_id)
    if parent is None:
        raise ValidationFailed(f"parent asset {parent_id} not found", field="parent_id")
    if parent["plant_id"] != plant_id:
        raise ValidationFailed("the parent asset must belong to the same plant", field="parent_id")
    if asset_id is not None and asset_id in await assets.ancestors(cur, tenant_id, parent_id):
        raise ValidationFailed("an asset cannot be placed under itself or one of its descendants", field="parent_id")


async def _check_code(cur: Cursor, tenant_id: int, code: str, *, asset_id: int | None) -> None:
    if await assets.code_taken(cur, tenant_id, code, exclude_id=asset_id):
        raise Conflict(f"an asset with code {code} already exists", field="code")


async def _check_meters_kept(cur: Cursor, tenant_id: int, current: dict[str, Any], meters: list[Any]) -> None:
    """A meter that a maintenance plan counts on cannot be removed from the asset."""
    removed = {m["name"] for m in current["meters"]} - {m["name"] for m in meters}
    in_use = removed & await assets.meters_in_plans(cur, tenant_id, current["id"])
    if in_use:
        raise Conflict(f"meter {', '.join(sorted(in_use))} is used by a maintenance plan", field="meters")
