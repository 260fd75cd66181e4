"""Other cost lines of an order (contractor, material, other) and the order's cost summary.

The summary's arithmetic and its rounding rule live in `cmms.domain.costing`; parts are the
issued part lines, each at the unit cost it left the store with. Amounts are in the tenant's one currency.
"""

from __future__ import annotations

from typing import Any

from cmms.db import crud
from cmms.db.pool import transaction
from cmms.db.repos import tenants
from cmms.db.repos import time_cost as repo
from cmms.domain import costing
from cmms.domain.costing import CostIn
from cmms.domain.errors import Forbidden, NotFound
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import Actor
from cmms.services import order_parts, order_work
from cmms.services.common import mutation, record
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]
DEFAULT_CURRENCY = "EUR"


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in costing.CostLine.model_fields}
    out["amount"] = costing.money(row["amount"])
    return out


async def add(deps: Deps, actor: Actor, order_id: int, data: CostIn) -> dict[str, Any]:
    async with mutation(deps, actor) as cur:
        order = await order_work.workable(cur, actor, order_id)
        order_work.check_open(order, order_work.SETTLED, "costs")
        row = await repo.insert_cost(
            cur,
            {
                "tenant_id": actor.tenant_id,
                "order_id": order_id,
                "category": data.category,
                "amount": data.amount,
                "description": data.description,
                "created_by": actor.user_id,
            },
        )
        out = present(row)
        await record(
            cur,
            actor,
            action="cost_add",
            entity="order",
            entity_id=order_id,
            changes={"cost_id": row["id"], "category": data.category, "amount": out["amount"]},
            event=order_work.changed(order, "cost", cost=out),
        )
        return out


async def list_costs(deps: Deps, actor: Actor, order_id: int, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await order_work.readable(cur, actor, order_id)
        rows, cursor = await repo.page(cur, repo.COSTS, actor.tenant_id, order_id, query.limit, query.cursor)
    return [present(r) for r in rows], cursor


async def delete(deps: Deps, actor: Actor, order_id: int, cost_id: int, version: int | None) -> None:
    async with mutation(deps, actor) as cur:
        order = await order_work.readable(cur, actor, order_id)
        row = await repo.line(cur, repo.COSTS, actor.tenant_id, order_id, cost_id)
        if row is None:
            raise NotFound(f"work order {order_id} has no cost line {cost_id}", field="cost_id")
        if not actor.is_supervisor and actor.user_id != row["created_by"]:
            raise Forbidden("only its author or a supervisor deletes a cost line")
        order_work.check_open(order, order_work.SETTLED, "costs")
        crud.check_version(row, version)
        await crud.delete(cur, repo.COSTS, actor.tenant_id, cost_id)
        await record(
            cur,
            actor,
            action="cost_delete",
            entity="order",
            entity_id=order_id,
            changes={"cost_id": cost_id, "category": row["category"], "amount": costing.money(row["amount"])},
            event=order_work.changed(order, "cost", deleted_cost_id=cost_id),
        )


async def summary(deps: Deps, actor: Actor, order_id: int) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await order_work.readable(cur, actor, order_id)
        tenant = await tenants.get(cur, actor.tenant_id)
        entries = await repo.order_entries(cur, actor.tenant_id, order_id)
        lines = await repo.order_costs(cur, actor.tenant_id, order_id)
        parts = await order_parts.parts_cost(cur, actor.tenant_id, order_id)
    currency = str(tenant["currency"]) if tenant else DEFAULT_CURRENCY
    return costing.summary(order_id, entries, lines, currency, parts).model_dump()
