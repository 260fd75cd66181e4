"""Procedures (checklist templates): staff read them, supervisors write them.

Every edit of the items, name or description is a new `revision`. Orders keep copies of the
revision they were given, so an edit reaches only orders that get the procedure afterwards.
"""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import procedures as repo
from cmms.domain import events as ev
from cmms.domain.checklist import ProcedureIn, ProcedurePatch, template_items
from cmms.domain.errors import Conflict, ValidationFailed
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.services.common import changed_fields, mutation, patch_values, record, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]
PROCEDURE_CREATED = "procedure:created"
PROCEDURE_UPDATED = "procedure:updated"
PROCEDURE_DELETED = "procedure:deleted"


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "tenant_id"}


async def list_procedures(deps: Deps, actor: Actor, query: PageQuery) -> Page:
    require(actor, STAFF, "see procedures")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        rows, cursor = await repo.list_page(cur, actor.tenant_id, query.limit, query.cursor)
    return [present(r) for r in rows], cursor


async def get(deps: Deps, actor: Actor, procedure_id: int) -> dict[str, Any]:
    require(actor, STAFF, "see procedures")
    async with transaction(deps.pool, actor.tenant_id) as cur:
        return present(await repo.get(cur, actor.tenant_id, procedure_id))


async def create(deps: Deps, actor: Actor, data: ProcedureIn) -> dict[str, Any]:
    require(actor, SUPERVISORS, "write procedures")
    values = {"name": data.name, "description": data.description, "items": template_items(data.items)}
    async with mutation(deps, actor) as cur:
        row = await repo.insert(cur, actor.tenant_id, values)
        await record(
            cur,
            actor,
            action="create",
            entity="procedure",
            entity_id=row["id"],
            changes={"name": data.name, "items": len(data.items)},
            event=ev.Event(PROCEDURE_CREATED, present(row), ev.STAFF_ROOMS),
        )
        return present(row)


async def update(
    deps: Deps, actor: Actor, procedure_id: int, data: ProcedurePatch, version: int | None
) -> dict[str, Any]:
    require(actor, SUPERVISORS, "write procedures")
    changes = patch_values(data)
    for name in ("name", "description", "items"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be null", field=name)
    if "items" in changes:
        changes["items"] = template_items(data.items or [])
    async with mutation(deps, actor) as cur:
        current = await repo.get(cur, actor.tenant_id, procedure_id, lock=True)
        crud.check_version(current, version)
        diff = changed_fields(current, {**current, **changes}, changes)
        if not diff:
            return present(current)  # the same content is the same revision
        row = await repo.update(cur, current, changes)
        audit = {k: v for k, v in diff.items() if k != "items"}
        if "items" in diff:
            audit["items"] = [len(current["items"]), len(row["items"])]
        audit["revision"] = [current["revision"], row["revision"]]
        await record(
            cur,
            actor,
            action="update",
            entity="procedure",
            entity_id=procedure_id,
            changes=audit,
            event=ev.Event(PROCEDURE_UPDATED, {**present(row), "changed": sorted(diff)}, ev.STAFF_ROOMS),
        )
        return present(row)


async def delete(deps: Deps, actor: Actor, procedure_id: int, version: int | None) -> None:
    """Orders keep their snapshots; a procedure that plans still name cannot go."""
    require(actor, SUPERVISORS, "delete procedures")
    async with mutation(deps, actor) as cur:
        current = await repo.get(cur, actor.tenant_id, procedure_id, lock=True)
        crud.check_version(current, version)
        if await repo.in_use_by_plans(cur, actor.tenant_id, procedure_id):
            raise Conflict("maintenance plans use this procedure; change them first", field="id")
        await crud.delete(cur, repo.TABLE, actor.tenant_id, procedure_id)
        await record(
            cur,
            actor,
            action="delete",
            entity="procedure",
            entity_id=procedure_id,
            changes={"name": current["name"], "revision": current["revision"]},
            event=ev.Event(PROCEDURE_DELETED, {"id": procedure_id}, ev.STAFF_ROOMS),
        )
