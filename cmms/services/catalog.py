"""One home for the plain reference-data CRUD shape (parts, stock locations, vendors).

The same list / get / create / versioned update / delete-when-unused appeared a fourth time with
the inventory, so each such aggregate is now a `Catalog` value: its table, who reads and writes
it, the events it sends and how a row is shown. Duplicates and references to missing (or other
tenants') records are left to the table's constraints, which `cmms.api.errors` turns into a 409
or a 422 naming the column; the transaction is rolled back, so nothing half-written remains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.domain import events as ev
from cmms.domain.errors import Conflict
from cmms.domain.roles import Actor, Role
from cmms.services.common import record, record_update, require
from cmms.services.deps import Deps

Page = tuple[list[dict[str, Any]], str | None]
Row = dict[str, Any]


def _same(row: Row) -> Row:
    return row


@dataclass(frozen=True)
class Catalog:
    table: str
    entity: str  # the audit trail's entity name, and the noun of messages
    readers: frozenset[Role]
    writers: frozenset[Role]
    audience: list[str] = field(default_factory=lambda: list(ev.STAFF_ROOMS))
    created: str | None = None  # event types; None sends no event (the audit row is still written)
    updated: str | None = None
    deleted: str | None = None
    present: Callable[[Row], Row] = _same
    in_use: Callable[[Cursor, int, int], Awaitable[bool]] | None = None

    @property
    def plural(self) -> str:
        return self.entity.replace("_", " ") + "s"

    async def list(self, deps: Deps, actor: Actor, where: crud.Where, limit: int, cursor: str | None) -> Page:
        require(actor, self.readers, f"see {self.plural}")
        async with transaction(deps.pool, actor.tenant_id) as cur:
            rows, next_cursor = await crud.page(cur, self.table, where, limit=limit, cursor=cursor)
        return [self.present(r) for r in rows], next_cursor

    async def get(self, deps: Deps, actor: Actor, id_: int) -> Row:
        require(actor, self.readers, f"see {self.plural}")
        async with transaction(deps.pool, actor.tenant_id) as cur:
            return self.present(await crud.get(cur, self.table, actor.tenant_id, id_))

    async def create(self, deps: Deps, actor: Actor, values: Row) -> Row:
        require(actor, self.writers, f"create {self.plural}")
        async with transaction(deps.pool, actor.tenant_id) as cur:
            row = await crud.insert(cur, self.table, {"tenant_id": actor.tenant_id, **values})
            out = self.present(row)
            event = None if self.created is None else ev.Event(self.created, out, self.audience)
            changes = {k: out.get(k, v) for k, v in values.items()}
            await record(
                cur, actor, action="create", entity=self.entity, entity_id=row["id"], changes=changes, event=event
            )
            return out

    async def update(self, deps: Deps, actor: Actor, id_: int, changes: Row, version: int | None) -> Row:
        require(actor, self.writers, f"change {self.plural}")
        async with transaction(deps.pool, actor.tenant_id) as cur:
            current = await crud.get(cur, self.table, actor.tenant_id, id_, lock=True)
            row = await crud.update(cur, self.table, current, changes, version)
            before, after = self.present(current), self.present(row)
            if self.updated is None:
                diff = {k: [before.get(k), after.get(k)] for k in changes if before.get(k) != after.get(k)}
                if diff:
                    await record(cur, actor, action="update", entity=self.entity, entity_id=id_, changes=diff)
            else:
                await record_update(
                    cur,
                    actor,
                    entity=self.entity,
                    before=before,
                    after=after,
                    fields=changes,
                    event_type=self.updated,
                    audience=self.audience,
                )
            return after

    async def delete(self, deps: Deps, actor: Actor, id_: int, version: int | None) -> None:
        require(actor, self.writers, f"delete {self.plural}")
        async with transaction(deps.pool, actor.tenant_id) as cur:
            current = await crud.get(cur, self.table, actor.tenant_id, id_, lock=True)
            crud.check_version(current, version)
            if self.in_use is not None and await self.in_use(cur, actor.tenant_id, id_):
                raise Conflict(f"the {self.entity.replace('_', ' ')} is in use by stock, moves or orders")
            await crud.delete(cur, self.table, actor.tenant_id, id_)
            event = None if self.deleted is None else ev.Event(self.deleted, {"id": id_}, self.audience)
            changes = {"name": current.get("name")}
            await record(cur, actor, action="delete", entity=self.entity, entity_id=id_, changes=changes, event=event)
