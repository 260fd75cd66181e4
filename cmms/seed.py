"""`cmms seed`: bulk synthetic data for load tests and benchmarks (100k orders in seconds).

Rows are generated inside PostgreSQL (`generate_series` over a maintenance vocabulary), as the
application role in one tenant transaction, so row-level security and the search triggers apply
exactly as they do to the API's writes. No audit or outbox rows are written: seeded data is not
"news". With Elasticsearch configured, run `cmms search reindex` afterwards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone, transaction
from cmms.domain.errors import ValidationFailed
from cmms.seed_vocabulary import (
    ACTIONS,
    EQUIPMENT,
    FINDINGS,
    MANUFACTURERS,
    NOTES,
    PROBLEMS,
    REPORTERS,
    SHIFTS,
    SITES,
    SYMPTOMS,
)
from cmms.services import tenants
from cmms.services.deps import Deps

BATCH = 20_000


@dataclass(frozen=True)
class SeedReport:
    tenant: str
    tenant_id: int
    plants: int
    assets: int
    orders: int
    notes: int
    seconds: float


async def seed(deps: Deps, *, tenant: str, assets: int, orders: int, seed_value: float = 0.42) -> SeedReport:
    """Add `assets` assets and `orders` work orders (with some notes) to `tenant`, creating it if needed."""
    if assets < 0 or orders < 0:
        raise ValidationFailed("counts must not be negative")
    if orders and not assets:
        raise ValidationFailed("orders need assets: give --assets too", field="assets")
    started = time.perf_counter()
    found = await tenants.find(deps, tenant)
    row = found or await tenants.create(deps, tenant, f"{tenant} (seeded)")
    tenant_id = int(row["id"])
    notes = 0
    async with transaction(deps.pool, tenant_id) as cur:
        await cur.execute("SET LOCAL statement_timeout = 0")
        await cur.execute("SELECT setseed(%s)", (seed_value,))
        plant_ids = await _plants(cur, tenant_id, max(1, min(len(SITES), assets // 400 or 1)))
        first_asset = await _count(cur, "assets", tenant_id)
        for start in range(0, assets, BATCH):
            await _assets(cur, tenant_id, plant_ids, first_asset + start, min(BATCH, assets - start))
        if orders:
            base = await _reserve_numbers(cur, tenant_id, orders)
            for start in range(0, orders, BATCH):
                count = min(BATCH, orders - start)
                notes += await _orders(cur, tenant_id, base + start, count, base + orders)
    # Statistics and merged GIN pending lists at once, not whenever autovacuum comes by: until
    # then every search over what was just loaded is several times slower.
    async with transaction(deps.pool, tenant_id) as cur:
        await cur.execute("SET LOCAL statement_timeout = 0")
        await cur.execute("SELECT cmms_after_bulk_load()")
    return SeedReport(
        tenant=str(row["name"]),
        tenant_id=tenant_id,
        plants=len(plant_ids),
        assets=assets,
        orders=orders,
        notes=notes,
        seconds=round(time.perf_counter() - started, 2),
    )


async def _count(cur: Cursor, table: str, tenant_id: int) -> int:
    row = await fetchone(cur, f"SELECT count(*) AS n FROM {table} WHERE tenant_id = %s", (tenant_id,))
    return int(row["n"]) if row else 0


async def _plants(cur: Cursor, tenant_id: int, count: int) -> list[int]:
    for name, code in SITES[:count]:
        await cur.execute(
            "INSERT INTO plants (tenant_id, name, code) VALUES (%s, %s, %s) ON CONFLICT (tenant_id, name) DO NOTHING",
            (tenant_id, name, code),
        )
    rows = await fetchall(
        cur,
        "SELECT id FROM plants WHERE tenant_id = %s AND name = ANY(%s) ORDER BY id",
        (tenant_id, [name for name, _ in SITES[:count]]),
    )
    return [int(r["id"]) for r in rows]


async def _assets(cur: Cursor, tenant_id: int, plant_ids: list[int], first: int, count: int) -> None:
    plants = await fetchall(cur, "SELECT id, code FROM plants WHERE id = ANY(%s) ORDER BY id", (plant_ids,))
    await cur.execute(
        """
        WITH v AS (
          SELECT %(names)s::text[] AS names, %(types)s::text[] AS types, %(codes)s::text[] AS codes,
                 %(makers)s::text[] AS makers, %(plant_ids)s::bigint[] AS plant_ids,
                 %(plant_codes)s::text[] AS plant_codes
        ), g AS (
          SELECT n, 1 + (n %% cardinality(v.names)) AS e, 1 + (n %% cardinality(v.plant_ids)) AS p,
                 random() AS r1, random() AS r2
            FROM generate_series(%(first)s + 1, %(first)s + %(count)s) AS n, v
        )
        INSERT INTO assets (tenant_id, plant_id, name, code, type, manufacturer, model, serial,
                            criticality, status, meters, created_at, updated_at)
        SELECT %(tenant)s, v.plant_ids[g.p],
               v.names[g.e] || ' ' || g.n,
               v.plant_codes[g.p] || '-' || v.codes[g.e] || '-' || lpad(g.n::text, 5, '0'),
               v.types[g.e],
               v.makers[1 + floor(g.r1 * cardinality(v.makers))::int],
               upper(substr(md5(g.n::text), 1, 2)) || '-' || (100 + floor(g.r2 * 900))::int,
               'SN' || (100000 + floor(g.r1 * 899999))::int,
               CASE WHEN g.r2 < 0.15 THEN 'critical' WHEN g.r2 < 0.45 THEN 'high'
                    WHEN g.r2 < 0.85 THEN 'medium' ELSE 'low' END,
               CASE WHEN g.r1 < 0.04 THEN 'down' WHEN g.r1 < 0.10 THEN 'maintenance'
                    WHEN g.r1 < 0.12 THEN 'retired' ELSE 'operational' END,
               '[{"name": "hours", "unit": "h"}]'::jsonb,
               now() - make_interval(days => (g.r1 * 1500)::int), now()
          FROM g, v
        """,
        {
            "names": [e[0] for e in EQUIPMENT],
            "types": [e[1] for e in EQUIPMENT],
            "codes": [e[2] for e in EQUIPMENT],
            "makers": MANUFACTURERS,
            "plant_ids": [int(p["id"]) for p in plants],
            "plant_codes": [p["code"] or f"P{p['id']}" for p in plants],
            "first": first,
            "count": count,
            "tenant": tenant_id,
        },
    )


async def _reserve_numbers(cur: Cursor, tenant_id: int, count: int) -> int:
    """Bump the tenant's order counter once; returns the number before the first new order."""
    row = await fetchone(
        cur,
        "UPDATE tenants SET order_seq = order_seq + %s WHERE id = %s RETURNING order_seq - %s AS base",
        (count, tenant_id, count),
    )
    assert row is not None
    return int(row["base"])


def _components() -> tuple[list[str], list[int], list[int]]:
    """Every family's components in one array, with each family's first index (1-based) and count."""
    flat: list[str] = []
    starts: list[int] = []
    counts: list[int] = []
    for _, _, _, components in EQUIPMENT:
        starts.append(len(flat) + 1)
        counts.append(len(components))
        flat.extend(components)
    return flat, starts, counts


async def _orders(cur: Cursor, tenant_id: int, base: int, count: int, last: int) -> int:
    """Orders numbered base+1..base+count; the newest (number `last`) was created ten minutes ago."""
    components, starts, counts = _components()
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "base": base,
        "count": count,
        "last": last,
        "families": [e[0] for e in EQUIPMENT],
        "components": components,
        "starts": starts,
        "counts": counts,
        "problems": PROBLEMS,
        "symptoms": SYMPTOMS,
        "findings": FINDINGS,
        "actions": ACTIONS,
        "shifts": SHIFTS,
        "reporters": REPORTERS,
        "notes": NOTES,
    }
    await cur.execute(
        """
        WITH v AS (
          SELECT %(families)s::text[] AS families, %(components)s::text[] AS components,
                 %(starts)s::int[] AS starts, %(counts)s::int[] AS counts,
                 %(problems)s::text[] AS problems, %(symptoms)s::text[] AS symptoms,
                 %(findings)s::text[] AS findings, %(actions)s::text[] AS actions,
                 %(shifts)s::text[] AS shifts, %(reporters)s::text[] AS reporters
        ), pool AS (
          SELECT array_agg(a.id ORDER BY a.id) AS ids, array_agg(a.name ORDER BY a.id) AS names,
                 array_agg(a.plant_id ORDER BY a.id) AS plants,
                 array_agg(coalesce(array_position(v.families, regexp_replace(a.name, ' [0-9]+$', '')), 1)
                           ORDER BY a.id) AS family
            FROM assets a, v WHERE a.tenant_id = %(tenant)s
        ), g AS (
          SELECT n, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                 1 + floor(random() * cardinality(pool.ids))::int AS a
            FROM generate_series(1, %(count)s) AS n, pool
        ), c AS (
          SELECT g.*, pool.ids[g.a] AS asset_id, pool.plants[g.a] AS plant_id, pool.names[g.a] AS asset,
                 v.components[v.starts[pool.family[g.a]] + floor(g.r5 * v.counts[pool.family[g.a]])::int] AS part
            FROM g, pool, v
        ), o AS (
          SELECT c.*,
                 format(v.problems[1 + floor(c.r1 * cardinality(v.problems))::int], c.part, c.asset) AS title,
                 v.reporters[1 + floor(c.r2 * cardinality(v.reporters))::int] || ' reported '
                   || v.symptoms[1 + floor(c.r3 * cardinality(v.symptoms))::int] || ' on the ' || c.part
                   || ' during the ' || v.shifts[1 + floor(c.r4 * cardinality(v.shifts))::int]
                   || ' shift (line ' || (1 + floor(c.r2 * 6))::int || '). '
                   || format(v.findings[1 + floor(c.r3 * cardinality(v.findings))::int], c.part) || ' '
                   || format(v.actions[1 + floor(c.r4 * cardinality(v.actions))::int], c.part) AS description,
                 CASE WHEN c.r2 < 0.40 THEN 'closed' WHEN c.r2 < 0.50 THEN 'completed'
                      WHEN c.r2 < 0.65 THEN 'open' WHEN c.r2 < 0.75 THEN 'in_progress'
                      WHEN c.r2 < 0.80 THEN 'on_hold' WHEN c.r2 < 0.90 THEN 'requested'
                      ELSE 'cancelled' END AS status,
                 now() - make_interval(secs => (%(last)s - %(base)s - c.n + 1) * 600 + c.r4 * 300) AS created
            FROM c, v
        )
        INSERT INTO work_orders (tenant_id, number, title, description, type, priority, status, asset_id,
                                 plant_id, due_at, started_at, completed_at, closed_at, downtime_minutes,
                                 created_at, updated_at)
        SELECT %(tenant)s, %(base)s + o.n, upper(left(o.title, 1)) || substr(o.title, 2), o.description,
               CASE WHEN o.r3 < 0.55 THEN 'corrective' WHEN o.r3 < 0.85 THEN 'preventive'
                    WHEN o.r3 < 0.95 THEN 'inspection' ELSE 'emergency' END,
               CASE WHEN o.r1 < 0.25 THEN 'low' WHEN o.r1 < 0.70 THEN 'medium'
                    WHEN o.r1 < 0.92 THEN 'high' ELSE 'critical' END,
               o.status, o.asset_id, o.plant_id, o.created + interval '7 days',
               CASE WHEN o.status IN ('in_progress', 'on_hold', 'completed', 'closed')
                    THEN o.created + make_interval(hours => 1 + (o.r3 * 48)::int) END,
               CASE WHEN o.status IN ('completed', 'closed')
                    THEN o.created + make_interval(hours => 50 + (o.r3 * 100)::int) END,
               CASE WHEN o.status = 'closed' THEN o.created + make_interval(hours => 160) END,
               CASE WHEN o.status IN ('completed', 'closed') THEN (o.r4 * 240)::int ELSE 0 END,
               o.created, o.created + make_interval(hours => 160)
          FROM o ORDER BY o.n
        """,
        params,
    )
    await cur.execute(
        """
        INSERT INTO order_notes (tenant_id, order_id, body, created_at)
        SELECT w.tenant_id, w.id, (%(notes)s::text[])[1 + floor(random() * cardinality(%(notes)s::text[]))::int],
               w.created_at + interval '1 day'
          FROM work_orders w
         WHERE w.tenant_id = %(tenant)s AND w.number > %(base)s AND w.number <= %(base)s + %(count)s
           AND random() < 0.2
        """,
        params,
    )
    return int(cur.rowcount or 0)
