"""The database as the source of search documents, and the indexer's position per tenant.

An external index (Elasticsearch) is fed from here: the outbox says which orders and assets
changed since the tenant's position, the rows are read in their current state, and audit entries
are read by id. `claim` holds the tenant's position row for the whole batch, so two nodes never
index the same tenant at once, and the position advances in the same transaction as the batch,
only after the bulk request succeeded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cmms.domain.search import Kind, clean_text
from cmms.domain.workflow import format_number
from cmms.search.pg_session import Cursor, fetch_all, fetch_one, tenant_transaction

ORDER_EVENTS = ("order:created", "order:updated", "order:status-changed")
ASSET_EVENTS = ("asset:created", "asset:updated", "asset:deleted")
PART_EVENTS = ("part:created", "part:updated", "part:deleted")
RESYNC = -1  # a position of -1 asks for a full resynchronisation of the tenant

ORDER_COLUMNS = """
    o.id, o.tenant_id, o.number, o.title, o.description, o.status, o.priority, o.type, o.plant_id,
    o.asset_id, o.requested_by, o.created_at, o.updated_at, o.version,
    cmms_order_notes(o.tenant_id, o.id) AS notes"""
ASSET_COLUMNS = """
    a.id, a.tenant_id, a.name, a.code, a.type, a.manufacturer, a.model, a.serial, a.status,
    a.criticality, a.plant_id, a.created_at, a.updated_at, a.version"""
PART_COLUMNS = (
    "p.id, p.tenant_id, p.number, p.name, p.unit, p.barcode, p.description, p.created_at, p.updated_at, p.version"
)
AUDIT_COLUMNS = (
    "l.id, l.tenant_id, l.actor_id, l.action, l.entity, l.entity_id, cmms_json_text(l.changes) AS text, l.at"
)


def order_document(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "orders",
        "tenant_id": row["tenant_id"],
        "id": row["id"],
        "number": format_number(int(row["number"])),
        "title": clean_text(row["title"]),
        "body": clean_text(row["description"] or ""),
        "notes": clean_text(row["notes"] or ""),
        "status": row["status"],
        "priority": row["priority"],
        "order_type": row["type"],
        "plant_id": row["plant_id"],
        "asset_id": row["asset_id"],
        "requested_by": row["requested_by"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
    }


def asset_document(row: dict[str, Any]) -> dict[str, Any]:
    details = " / ".join(str(row[k]) for k in ("code", "type", "manufacturer", "model", "serial") if row.get(k))
    return {
        "kind": "assets",
        "tenant_id": row["tenant_id"],
        "id": row["id"],
        "title": clean_text(row["name"]),
        "code": row["code"],
        "body": clean_text(details),
        "status": row["status"],
        "criticality": row["criticality"],
        "plant_id": row["plant_id"],
        "asset_type": row["type"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
    }


def part_document(row: dict[str, Any]) -> dict[str, Any]:
    """A part: its number is the `code` (exact and prefix matches), its barcode a keyword too."""
    return {
        "kind": "parts",
        "tenant_id": row["tenant_id"],
        "id": row["id"],
        "title": clean_text(row["name"]),
        "code": row["number"],
        "number": row["number"],
        "barcode": row["barcode"],
        "unit": row["unit"],
        "body": clean_text(" / ".join(filter(None, [row["number"], row["barcode"], row["description"]]))),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "version": row["version"],
    }


def audit_document(row: dict[str, Any]) -> dict[str, Any]:
    title = f"{row['action']} {row['entity']}" + (f" {row['entity_id']}" if row["entity_id"] is not None else "")
    return {
        "kind": "audit",
        "tenant_id": row["tenant_id"],
        "id": row["id"],
        "title": title,
        "body": clean_text(row["text"] or ""),
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "action": row["action"],
        "actor_id": row["actor_id"],
        "created_at": _iso(row["at"]),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class Claim:
    """A tenant's position, held (row-locked) for the duration of one batch."""

    cur: Cursor
    tenant_id: int
    last_seq: int
    last_audit_id: int

    @property
    def needs_resync(self) -> bool:
        return self.last_seq == RESYNC or self.last_audit_id == RESYNC


@dataclass(frozen=True)
class Changes:
    orders: list[int]
    assets: list[int]
    last_seq: int  # the last outbox seq these changes cover
    events: int  # how many outbox events were read
    gap: bool  # the outbox no longer holds every event after the position: resynchronise
    parts: list[int] = field(default_factory=list)


class PostgresSource:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def tenants_with_work(self) -> list[int]:
        """Tenants whose events or audit entries are ahead of their position (cheap, one query)."""
        async with tenant_transaction(self.pool, None) as cur:
            rows = await fetch_all(
                cur,
                "SELECT t.id FROM tenants t LEFT JOIN search_index_position p ON p.tenant_id = t.id"
                " WHERE p.tenant_id IS NULL OR t.event_seq > p.last_seq OR p.last_seq < 0 ORDER BY t.id",
            )
        return [int(r["id"]) for r in rows]

    async def tenant_ids(self) -> list[int]:
        async with tenant_transaction(self.pool, None) as cur:
            return [int(r["id"]) for r in await fetch_all(cur, "SELECT id FROM tenants ORDER BY id")]

    @asynccontextmanager
    async def claim(self, tenant_id: int) -> AsyncIterator[Claim | None]:
        """The tenant's position, locked; None when another node is indexing this tenant now."""
        async with tenant_transaction(self.pool, tenant_id) as cur:
            await cur.execute(
                "INSERT INTO search_index_position (tenant_id) VALUES (%s) ON CONFLICT (tenant_id) DO NOTHING",
                (tenant_id,),
            )
            await cur.execute(
                "SELECT last_seq, last_audit_id FROM search_index_position WHERE tenant_id = %s FOR UPDATE SKIP LOCKED",
                (tenant_id,),
            )
            row = await cur.fetchone()
            if row is None:
                yield None
            else:
                yield Claim(cur, tenant_id, int(row["last_seq"]), int(row["last_audit_id"]))

    async def changes(self, claim: Claim, limit: int) -> Changes:
        cur, tenant = claim.cur, claim.tenant_id
        oldest = await fetch_one(cur, "SELECT min(seq) AS seq FROM outbox WHERE tenant_id = %s", (tenant,))
        latest = await fetch_one(cur, "SELECT event_seq FROM tenants WHERE id = %s", (tenant,))
        first_kept = oldest["seq"] if oldest["seq"] is not None else int(latest["event_seq"]) + 1
        if claim.last_seq < first_kept - 1:
            return Changes([], [], int(latest["event_seq"]), 0, gap=True)
        rows = await fetch_all(
            cur,
            "SELECT seq, type, data->>'id' AS id FROM outbox WHERE tenant_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (tenant, claim.last_seq, limit),
        )
        orders: dict[int, None] = {}
        assets: dict[int, None] = {}
        parts: dict[int, None] = {}
        for row in rows:
            if row["id"] is None or not str(row["id"]).isdigit():
                continue
            if row["type"] in ORDER_EVENTS:
                orders[int(row["id"])] = None
            elif row["type"] in ASSET_EVENTS:
                assets[int(row["id"])] = None
            elif row["type"] in PART_EVENTS:
                parts[int(row["id"])] = None
        last = int(rows[-1]["seq"]) if rows else claim.last_seq
        return Changes(list(orders), list(assets), last, len(rows), gap=False, parts=list(parts))

    async def documents(self, cur: Cursor, tenant_id: int, kind: Kind, ids: list[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        if kind == "orders":
            rows = await fetch_all(
                cur,
                f"SELECT {ORDER_COLUMNS} FROM work_orders o WHERE o.tenant_id = %s AND o.id = ANY(%s)",
                (tenant_id, ids),
            )
            return [order_document(r) for r in rows]
        if kind == "assets":
            rows = await fetch_all(
                cur,
                f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = %s AND a.id = ANY(%s)",
                (tenant_id, ids),
            )
            return [asset_document(r) for r in rows]
        if kind == "parts":
            sql = f"SELECT {PART_COLUMNS} FROM parts p WHERE p.tenant_id = %s AND p.id = ANY(%s)"
            return [part_document(r) for r in await fetch_all(cur, sql, (tenant_id, ids))]
        rows = await fetch_all(
            cur,
            f"SELECT {AUDIT_COLUMNS} FROM audit_log l WHERE l.tenant_id = %s AND l.id = ANY(%s)",
            (tenant_id, ids),
        )
        return [audit_document(r) for r in rows]

    async def audit_after(self, cur: Cursor, tenant_id: int, after_id: int, limit: int) -> list[dict[str, Any]]:
        rows = await fetch_all(
            cur,
            f"SELECT {AUDIT_COLUMNS} FROM audit_log l WHERE l.tenant_id = %s AND l.id > %s ORDER BY l.id LIMIT %s",
            (tenant_id, after_id, limit),
        )
        return [audit_document(r) for r in rows]

    async def scan(self, cur: Cursor, tenant_id: int, kind: Kind, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Every document of a kind, in id order, a page at a time (for a full load)."""
        if kind == "orders":
            sql = (
                f"SELECT {ORDER_COLUMNS} FROM work_orders o WHERE o.tenant_id = %s AND o.id > %s ORDER BY o.id LIMIT %s"
            )
            return [order_document(r) for r in await fetch_all(cur, sql, (tenant_id, after_id, limit))]
        if kind == "assets":
            sql = f"SELECT {ASSET_COLUMNS} FROM assets a WHERE a.tenant_id = %s AND a.id > %s ORDER BY a.id LIMIT %s"
            return [asset_document(r) for r in await fetch_all(cur, sql, (tenant_id, after_id, limit))]
        if kind == "parts":
            sql = f"SELECT {PART_COLUMNS} FROM parts p WHERE p.tenant_id = %s AND p.id > %s ORDER BY p.id LIMIT %s"
            return [part_document(r) for r in await fetch_all(cur, sql, (tenant_id, after_id, limit))]
        return await self.audit_after(cur, tenant_id, after_id, limit)

    async def snapshot(self, cur: Cursor, tenant_id: int) -> tuple[int, int]:
        """The tenant's latest event seq and audit id: what a full load from now on covers."""
        seq = await fetch_one(cur, "SELECT event_seq FROM tenants WHERE id = %s", (tenant_id,))
        audit = await fetch_one(
            cur, "SELECT coalesce(max(id), 0) AS id FROM audit_log WHERE tenant_id = %s", (tenant_id,)
        )
        return int(seq["event_seq"]), int(audit["id"])

    async def advance(self, claim: Claim, last_seq: int, last_audit_id: int) -> None:
        await claim.cur.execute(
            "UPDATE search_index_position SET last_seq = %s, last_audit_id = %s, updated_at = now()"
            " WHERE tenant_id = %s",
            (last_seq, last_audit_id, claim.tenant_id),
        )
        claim.last_seq, claim.last_audit_id = last_seq, last_audit_id

    async def rewind(self, tenant_id: int, seq: int, audit_id: int) -> None:
        """Replay from no later than (seq, audit_id): after an alias swap, catch the new index up."""
        async with tenant_transaction(self.pool, tenant_id) as cur:
            await cur.execute(
                "INSERT INTO search_index_position AS p (tenant_id, last_seq, last_audit_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (tenant_id) DO UPDATE SET last_seq = least(p.last_seq, excluded.last_seq),"
                " last_audit_id = least(p.last_audit_id, excluded.last_audit_id), updated_at = now()",
                (tenant_id, seq, audit_id),
            )

    async def resync_all(self) -> None:
        """Ask for a full resynchronisation of every tenant (a freshly created index is empty)."""
        async with tenant_transaction(self.pool, None) as cur:
            await cur.execute(
                "INSERT INTO search_index_position (tenant_id, last_seq, last_audit_id)"
                " SELECT id, -1, -1 FROM tenants"
                " ON CONFLICT (tenant_id) DO UPDATE SET last_seq = -1, last_audit_id = -1, updated_at = now()"
            )

    async def positions(self) -> dict[int, tuple[int, int]]:
        async with tenant_transaction(self.pool, None) as cur:
            rows = await fetch_all(cur, "SELECT tenant_id, last_seq, last_audit_id FROM search_index_position")
        return {int(r["tenant_id"]): (int(r["last_seq"]), int(r["last_audit_id"])) for r in rows}
