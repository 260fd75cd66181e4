"""Search right after a bulk load, and the query that highlights are computed with (migrations 0011, 0012).

`cmms seed` must leave the planner statistics and merged GIN pending lists behind it: without
them every search over what was just loaded is several times slower (scripts/bench_search.py
measures that; here only the state is checked). Highlights are marked with the positive terms of
the query, OR-ed and each once, and a title or body is only highlighted when it holds one.
"""

from __future__ import annotations

import asyncio
import time

import psycopg2
import pytest

from cmms.db.pool import fetchone, transaction
from cmms.domain.model import NoteIn, OrderIn
from cmms.domain.roles import Actor, Role
from cmms.domain.search import SearchParams
from cmms.runtime import Runtime
from cmms.seed import seed
from cmms.services import orders, search
from tests.integration.support import unique


def _superuser(rt: Runtime, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(rt.dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


async def test_seed_analyses_what_it_loaded_and_merges_the_gin_pending_lists(rt: Runtime) -> None:
    _superuser(rt, "CREATE EXTENSION IF NOT EXISTS pgstattuple")
    started = _superuser(rt, "SELECT now()")[0][0]
    await seed(rt.deps, tenant=unique("bulk"), assets=40, orders=300)
    for index in ("work_order_search_document", "asset_search_document", "search_words_trgm", "assets_code_fuzzy"):
        ((pending,),) = _superuser(rt, f"SELECT pending_pages FROM pgstatginindex('{index}')")
        assert pending == 0, index
    deadline = time.monotonic() + 10  # the statistics views catch up within a second or so
    while True:
        rows = _superuser(
            rt,
            "SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname IN"
            " ('work_orders', 'order_notes', 'assets', 'work_order_search', 'asset_search', 'search_words')",
        )
        fresh = {name for name, at in rows if at is not None and at >= started}
        if len(fresh) == 6 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert fresh == {"work_orders", "order_notes", "assets", "work_order_search", "asset_search", "search_words"}


@pytest.mark.parametrize(
    ("query", "marked", "lexemes"),
    [
        ("pumps leaking", "'leak' | 'pump'", ["leak", "pump"]),
        ('"oil leak" -gearbox', "'leak' | 'oil'", ["leak", "oil"]),
        ('seal -"gear box"', "'seal'", ["seal"]),
        ("-valve", None, []),
    ],
)
async def test_highlights_mark_the_positive_terms_once(
    rt: Runtime, query: str, marked: str | None, lexemes: list[str]
) -> None:
    async with transaction(rt.deps.pool, None) as cur:
        row = await fetchone(
            cur,
            "SELECT h.hq::text AS marked, h.lexemes"
            " FROM cmms_highlight_terms(websearch_to_tsquery('cmms_english', %s)) h",
            (query,),
        )
    assert row is not None
    assert (None if row["marked"] is None else " | ".join(sorted(row["marked"].split(" | ")))) == marked
    assert sorted(row["lexemes"]) == lexemes


async def test_a_prefix_is_marked_as_a_prefix_and_always_highlighted(rt: Runtime) -> None:
    async with transaction(rt.deps.pool, None) as cur:
        row = await fetchone(
            cur,
            "SELECT h.hq::text AS marked, h.lexemes"
            " FROM cmms_highlight_terms(to_tsquery('simple', 'bearin:* & seal & bearin:*')) h",
        )
    assert row is not None
    assert sorted(row["marked"].split(" | ")) == ["'bearin':*", "'seal'"] and row["lexemes"] is None


async def test_titles_descriptions_and_notes_are_highlighted_where_they_match(rt: Runtime) -> None:
    report = await seed(rt.deps, tenant=unique("marks"), assets=2, orders=0)
    manager = Actor(report.tenant_id, None, Role.MANAGER)
    asset = await _any_asset(rt, report.tenant_id)
    in_title = await orders.create(
        rt.deps, manager, OrderIn(title="Quillwort pump", description="all fine", asset_id=asset)
    )
    in_body = await orders.create(
        rt.deps, manager, OrderIn(title="Pump check", description="a quillwort smell", asset_id=asset)
    )
    in_note = await orders.create(rt.deps, manager, OrderIn(title="Pump round", description="nothing", asset_id=asset))
    await orders.add_note(rt.deps, manager, in_note["id"], NoteIn(body="Quillwort found behind the panel."))
    found = await search.search(rt.deps, manager, SearchParams(q="quillwort ", type=["orders"]))
    snippets = {item["id"]: item["snippet"] for item in found["items"]}
    assert set(snippets) == {in_title["id"], in_body["id"], in_note["id"]}
    assert snippets[in_title["id"]] == "<mark>Quillwort</mark> pump"
    assert "<mark>quillwort</mark> smell" in snippets[in_body["id"]]
    assert "<mark>Quillwort</mark> found behind the panel" in snippets[in_note["id"]]


async def _any_asset(rt: Runtime, tenant_id: int) -> int:
    async with transaction(rt.deps.pool, tenant_id) as cur:
        row = await fetchone(cur, "SELECT id FROM assets WHERE tenant_id = %s ORDER BY id LIMIT 1", (tenant_id,))
    assert row is not None
    return int(row["id"])
