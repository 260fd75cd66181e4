"""Parts, stock locations and vendors: staff read them, supervisors keep them (see `catalog`)."""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.repos import parts as repo
from cmms.domain import events as ev
from cmms.domain import stock as rules
from cmms.domain.inventory import LocationQuery, PartQuery
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import STAFF, SUPERVISORS, Actor
from cmms.services.catalog import Catalog, Page
from cmms.services.deps import Deps

PART_CREATED = ev.PART_CREATED
PART_UPDATED = ev.PART_UPDATED
PART_DELETED = ev.PART_DELETED


def present_part(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out.pop("tenant_id", None)
    for key in ("min_qty", "reorder_qty"):
        out[key] = rules.qty_text(row[key])
    out["average_cost"] = rules.cost_text(row["average_cost"])
    return out


def _without_tenant(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "tenant_id"}


PARTS = Catalog(
    table=repo.PARTS,
    entity="part",
    readers=STAFF,
    writers=SUPERVISORS,
    created=PART_CREATED,
    updated=PART_UPDATED,
    deleted=PART_DELETED,
    present=present_part,
    in_use=repo.part_in_use,
)
LOCATIONS = Catalog(
    table=repo.LOCATIONS,
    entity="stock_location",
    readers=STAFF,
    writers=SUPERVISORS,
    present=_without_tenant,
    in_use=repo.location_in_use,
)
VENDORS = Catalog(
    table=repo.VENDORS,
    entity="vendor",
    readers=STAFF,
    writers=SUPERVISORS,
    present=_without_tenant,
    in_use=repo.vendor_in_use,
)


async def list_parts(deps: Deps, actor: Actor, query: PartQuery) -> Page:
    where = crud.Where(actor.tenant_id).eq("number", query.number).eq("barcode", query.barcode)
    return await PARTS.list(deps, actor, where, query.limit, query.cursor)


async def list_locations(deps: Deps, actor: Actor, query: LocationQuery) -> Page:
    where = crud.Where(actor.tenant_id).eq("plant_id", query.plant_id)
    return await LOCATIONS.list(deps, actor, where, query.limit, query.cursor)


async def list_vendors(deps: Deps, actor: Actor, query: PageQuery) -> Page:
    return await VENDORS.list(deps, actor, crud.Where(actor.tenant_id), query.limit, query.cursor)
