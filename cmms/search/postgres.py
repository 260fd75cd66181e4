"""PostgreSQL full-text search: the default backend.

Documents are weighted tsvectors kept current by triggers (migration 0003): title A, description
B, notes C; English stems; accents folded. A query is read by `websearch_to_tsquery`; its last
word, while being typed, is completed from the tenant's lexicon of words. When
the full text finds almost nothing, each word is corrected against the tenant's lexicon by
trigram similarity (and an asset code is compared by similarity), and the corrected query runs.

Cost is bounded whatever the query: per kind, at most `CANDIDATES` matches are ranked and counted,
the most recent ones. Beyond that the total is a lower bound (`total_relation` "gte"), as in
Elasticsearch past `track_total_hits`, and the facets count those candidates. One prepared
statement finds the candidates, ranks, pages, highlights and counts facets.

The search layer does not import `cmms.db`: this module reaches the database through the pool it
is given, in transactions scoped to the tenant by row-level security. The candidates come from
SECURITY DEFINER functions that scope to the same tenant setting, because the text-search
operators are not LEAKPROOF and PostgreSQL will not use a GIN index for them under a policy.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from cmms.domain.search import (
    KINDS,
    MARK_END,
    MARK_START,
    Kind,
    Mode,
    ParsedQuery,
    SearchQuery,
    SearchResult,
    empty_facets,
    fold,
    highlight,
    plain_snippet,
)
from cmms.domain.workflow import format_number

log = logging.getLogger(__name__)
Cursor = Any  # aiopg cursor with a RealDictCursor factory

CANDIDATES = 200  # matches ranked and counted per kind (the most recent ones)
FUZZY_BELOW = 3  # fewer full-text hits than this: try typo tolerance
WORD_SIMILARITY = "0.4"  # pg_trgm similarity between a typed word and a lexicon word (inclusive)
SENTINELS = MARK_START + MARK_END
HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=10, ShortWord=2,"
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"


@asynccontextmanager
async def tenant_transaction(pool: Any, tenant_id: int | None) -> AsyncIterator[Cursor]:
    """A transaction limited to one tenant by row-level security (None: tenant-less tables)."""
    async with pool.acquire() as conn:
        async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            async with cur.begin():
                # Search statements are short: compiling them (JIT) would cost more than running them.
                await cur.execute(
                    "SELECT set_config('cmms.tenant_id', %s, true), set_config('jit', 'off', true)",
                    ("" if tenant_id is None else str(tenant_id),),
                )
                yield cur


async def fetch_one(cur: Cursor, sql: str, params: Any = ()) -> dict[str, Any]:
    await cur.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def fetch_all(cur: Cursor, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    await cur.execute(sql, params)
    return [dict(r) for r in await cur.fetchall()]


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _quote(word: str) -> str:
    """A tsquery operand: quoted, quotes doubled, backslashes dropped."""
    return "'" + word.replace("\\", "").replace("'", "''") + "'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---- the statement ----------------------------------------------------------------------------

# How the query becomes a tsquery, per kind of query ("browse": no query, list the newest).
QUERIES = {
    "browse": "NULL::tsquery",
    "text": "websearch_to_tsquery('cmms_english', %(text)s::text)",
    # The word being typed, completed from the tenant's lexicon into whole words (whose
    # frequencies the planner knows), or else a raw prefix of the English stems.
    "prefix": "websearch_to_tsquery('cmms_english', %(head)s::text) && coalesce("
    "(SELECT to_tsquery('cmms_english', string_agg(quote_literal(w.word), ' | '))"
    " FROM (SELECT word FROM search_words WHERE tenant_id = %(tenant)s::bigint"
    " AND word >= %(stem)s::text AND word < %(stem)s::text || chr(1114111)"
    " ORDER BY length(word), word LIMIT 30) w), to_tsquery('cmms_english', %(prefix)s::text))",
    "tsquery": "%(tsq)s::tsquery",
}
TSQ = "(SELECT tsq FROM q)"
HQ = "(SELECT hq FROM q)"  # what ts_headline marks: the positive terms OR-ed (migrations 0011, 0012)
LEXEMES = "(SELECT lexemes FROM q)"  # a part holding none of these is not highlighted (NULL: try all)


def _holds(document: str | None, weights: str) -> str:
    """SQL: whether the stored document's parts of these weights hold a query lexeme (no parse)."""
    if document is None:
        return "true"
    return f"({LEXEMES} IS NULL OR tsvector_to_array(ts_filter({document}, '{{{weights}}}')) && {LEXEMES})"


def _highlights(browse: bool, title: str, body: str, document: str | None = None) -> str:
    """Highlights of one page row. ts_headline parses the text it is given, which is most of a
    search's cost: it gets the short OR-query, and only the parts of `document` (title: weight A,
    body: B and C) that hold a query lexeme."""
    if browse:
        return f"NULL::text AS title_hl, NULL::text AS body_hl, left({body}, 400) AS body"
    strip = _literal(SENTINELS)
    return (
        f"CASE WHEN {_holds(document, 'a')} THEN ts_headline('cmms_english', translate({title}, {strip}, ''),"
        f" {HQ}, {_literal(TITLE_HEADLINE)}) END AS title_hl,"
        f" CASE WHEN {_holds(document, 'b,c')} THEN ts_headline('cmms_english', translate(left({body}, 3000),"
        f" {strip}, ''), {HQ}, {_literal(HEADLINE)}) END AS body_hl, left({body}, 400) AS body"
    )


def statement(variant: str) -> str:
    """The search statement for one kind of query, with %(name)s parameters."""
    browse = variant == "browse"
    order_body = "b.body"  # description and notes, read once per row (the LATERAL below)
    asset_body = "concat_ws(' / ', x.code, x.type, x.manufacturer, x.model, x.serial)"
    audit_title = "x.action || ' ' || x.entity || coalesce(' ' || x.entity_id, '')"
    part_body = "concat_ws(' / ', x.number, x.barcode, x.description)"
    return f"""
WITH q AS MATERIALIZED (
    SELECT t.tsq, h.hq, h.lexemes FROM (SELECT {QUERIES[variant]} AS tsq) t, cmms_highlight_terms(t.tsq) h),
o AS MATERIALIZED (
    SELECT * FROM cmms_search_orders({TSQ}, %(number)s::bigint, %(orders_status)s::text[], %(priority)s::text[],
                                     %(plant_id)s::bigint, %(requested_by)s::bigint, %(cap_orders)s::int)),
a AS MATERIALIZED (
    SELECT * FROM cmms_search_assets({TSQ}, %(code)s::text, %(code_similar)s::text, %(assets_status)s::text[],
                                     %(criticality)s::text[], %(plant_id)s::bigint, %(cap_assets)s::int)),
l AS MATERIALIZED (SELECT * FROM cmms_search_audit({TSQ}, %(cap_audit)s::int)),
pt AS MATERIALIZED (SELECT * FROM cmms_search_parts({TSQ}, %(code)s::text, %(cap_parts)s::int)),
ranked AS (
    (SELECT 'orders'::text AS kind, id, score, at FROM o ORDER BY score DESC, at DESC, id DESC LIMIT %(window)s::int)
    UNION ALL
    (SELECT 'assets'::text, id, score, at FROM a ORDER BY score DESC, at DESC, id DESC LIMIT %(window)s::int)
    UNION ALL
    (SELECT 'audit'::text, id, score, at FROM l ORDER BY score DESC, at DESC, id DESC LIMIT %(window)s::int)
    UNION ALL
    (SELECT 'parts'::text, id, score, at FROM pt ORDER BY score DESC, at DESC, id DESC LIMIT %(window)s::int)
),
page AS (
    SELECT * FROM ranked ORDER BY score DESC, at DESC, kind, id DESC OFFSET %(offset)s::int LIMIT %(limit)s::int
),
items AS (
    SELECT p.kind, p.id, p.score, p.at, w.title,
           json_build_object('number', w.number, 'status', w.status, 'priority', w.priority,
                             'order_type', w.type, 'plant_id', w.plant_id, 'asset_id', w.asset_id,
                             'updated_at', w.updated_at) AS extra,
           {_highlights(browse, "w.title", order_body, None if browse else "s.document")}
      FROM page p JOIN work_orders w ON p.kind = 'orders' AND w.tenant_id = %(tenant)s::bigint AND w.id = p.id
      {"" if browse else "JOIN work_order_search s ON s.tenant_id = %(tenant)s::bigint AND s.order_id = p.id"}
      CROSS JOIN LATERAL (
          SELECT w.description || ' ' || coalesce((SELECT string_agg(n.body, ' ' ORDER BY n.id) FROM order_notes n
                                                   WHERE n.tenant_id = w.tenant_id AND n.order_id = w.id), '') AS body
          OFFSET 0) b
    UNION ALL
    SELECT p.kind, p.id, p.score, p.at, x.name,
           json_build_object('code', x.code, 'status', x.status, 'criticality', x.criticality,
                             'plant_id', x.plant_id, 'asset_type', x.type, 'updated_at', x.updated_at),
           {_highlights(browse, "x.name", asset_body)}
      FROM page p JOIN assets x ON p.kind = 'assets' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
    UNION ALL
    SELECT p.kind, p.id, p.score, p.at, {audit_title},
           json_build_object('entity', x.entity, 'entity_id', x.entity_id, 'action', x.action,
                             'actor_id', x.actor_id, 'at', x.at),
           {_highlights(browse, audit_title, "cmms_json_text(x.changes)")}
      FROM page p JOIN audit_log x ON p.kind = 'audit' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
    UNION ALL
    SELECT p.kind, p.id, p.score, p.at, x.name,
           json_build_object('number', x.number, 'unit', x.unit, 'barcode', x.barcode, 'updated_at', x.updated_at),
           {_highlights(browse, "x.name", part_body)}
      FROM page p JOIN parts x ON p.kind = 'parts' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
),
counts AS (
    SELECT 'type' AS facet, 'orders' AS value, count(*) AS n FROM o HAVING count(*) > 0
    UNION ALL SELECT 'type', 'assets', count(*) FROM a HAVING count(*) > 0
    UNION ALL SELECT 'type', 'audit', count(*) FROM l HAVING count(*) > 0
    UNION ALL SELECT 'type', 'parts', count(*) FROM pt HAVING count(*) > 0
    UNION ALL SELECT 'status', status, count(*) FROM o GROUP BY status
    UNION ALL SELECT 'status', status, count(*) FROM a GROUP BY status
    UNION ALL SELECT 'priority', priority, count(*) FROM o GROUP BY priority
    UNION ALL SELECT 'order_type', type, count(*) FROM o GROUP BY type
    UNION ALL SELECT 'criticality', criticality, count(*) FROM a GROUP BY criticality
    UNION ALL SELECT 'plant_id', plant_id::text, count(*) FROM o WHERE plant_id IS NOT NULL GROUP BY plant_id
    UNION ALL SELECT 'plant_id', plant_id::text, count(*) FROM a GROUP BY plant_id
    UNION ALL SELECT 'entity', entity, count(*) FROM l GROUP BY entity
)
SELECT (SELECT coalesce(numnode(tsq), -1) FROM q) AS nodes,
       (SELECT coalesce(json_agg(json_build_object(
            'kind', kind, 'id', id, 'score', score, 'title', title, 'extra', extra,
            'title_hl', title_hl, 'body_hl', body_hl, 'body', body)
            ORDER BY score DESC, at DESC, kind, id DESC), '[]') FROM items) AS items,
       (SELECT coalesce(json_agg(json_build_array(facet, value, n)), '[]') FROM counts) AS facets
"""


@dataclass(frozen=True)
class Prepared:
    """One search statement in server-side form: its name, $n text and parameter order."""

    name: str
    text: str
    names: tuple[str, ...]


@functools.cache
def prepared(variant: str) -> Prepared:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", number, statement(variant))
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return Prepared(f"cmms_search_{variant}_{digest}", text, tuple(names))


# Prepared statements live in a connection, so what was prepared where is kept per connection.
_PREPARED_ON: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


async def execute_prepared(cur: Cursor, variant: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a search statement, preparing it first on this connection (planning it cost more than
    running it). Its plan does not depend on the query: the selective part runs inside the
    candidate functions, which plan their own statements with the actual values at every call."""
    statement_ = prepared(variant)
    done = _PREPARED_ON.setdefault(cur.connection, set())
    if statement_.name not in done:
        await cur.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", (statement_.name,))
        if await cur.fetchone() is None:
            await cur.execute(f"PREPARE {statement_.name} AS {statement_.text}")
        done.add(statement_.name)
    placeholders = ", ".join(["%s"] * len(statement_.names))
    return await fetch_one(cur, f"EXECUTE {statement_.name} ({placeholders})", [params[n] for n in statement_.names])


def _item(row: dict[str, Any]) -> dict[str, Any]:
    """One hit as the API returns it: plain title, HTML-safe snippet with <mark>, the kind's fields."""
    kind = row["kind"]
    item: dict[str, Any] = {
        "type": kind,
        "id": row["id"],
        "title": row["title"],
        "snippet": snippet(row.get("title_hl"), row.get("body_hl"), row.get("body") or ""),
        "score": round(float(row["score"]), 4),
    }
    extra = dict(row["extra"] or {})
    if kind == "orders":
        extra["number"] = format_number(int(extra["number"]))
    for key in ("updated_at", "at"):
        if isinstance(extra.get(key), str):
            extra[key] = datetime.fromisoformat(extra[key])
    item.update(extra)
    return item


def snippet(title_hl: str | None, body_hl: str | None, body: str) -> str:
    """The body's highlighted fragments when it matched, else the highlighted title, else text."""
    if body_hl and MARK_START in body_hl:
        return highlight(body_hl.strip())
    if title_hl and MARK_START in title_hl:
        return highlight(title_hl.strip())
    return plain_snippet(body)


def _facets(rows: list[list[Any]]) -> dict[str, dict[str, int]]:
    facets = empty_facets()
    for name, value, count in rows:
        if value is not None:
            bucket = facets.setdefault(name, {})
            bucket[str(value)] = bucket.get(str(value), 0) + int(count)
    return facets


class PostgresSearch:
    """The default backend: PostgreSQL full-text search on the application's own database."""

    name = "postgres"

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        try:
            return await self._search(tenant_id, query)
        except psycopg2.errors.InvalidSqlStatementName:
            # The server forgot a prepared statement (a DISCARD ALL, a pooler): prepare again.
            _PREPARED_ON.clear()
            return await self._search(tenant_id, query)

    async def _search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        parsed = query.parsed
        async with tenant_transaction(self.pool, tenant_id) as cur:
            if parsed.empty:
                return await self._run(cur, tenant_id, query, "browse", "browse", {})
            if parsed.prefix:
                variant = "prefix"
                extra = {"head": parsed.head, "stem": fold(parsed.prefix), "prefix": _quote(parsed.prefix) + ":*"}
            else:
                variant, extra = "text", {"text": parsed.text}
            result = await self._run(cur, tenant_id, query, "fulltext", variant, extra)
            if result.mode == "none" or result.total >= FUZZY_BELOW or parsed.excluded:
                return result
            if parsed.number is not None and result.total > 0:
                return result  # an order number that exists: nothing to correct
            if not (query.searches("orders") or query.searches("assets")):
                return result
            corrected = await self._correct(cur, parsed)
            if corrected is None and parsed.code is None:
                return result
            fuzzy_extra: dict[str, Any] = {"code_similar": fold(parsed.code) if parsed.code else None}
            if corrected is None:
                fuzzy = await self._run(cur, tenant_id, query, "fuzzy", variant, {**extra, **fuzzy_extra})
            else:
                fuzzy = await self._run(cur, tenant_id, query, "fuzzy", "tsquery", {"tsq": corrected[0], **fuzzy_extra})
                fuzzy.suggestion = corrected[1]
            return fuzzy if fuzzy.total > result.total else result

    async def _correct(self, cur: Cursor, parsed: ParsedQuery) -> tuple[str, str] | None:
        """Each word OR its nearest lexicon words (as tsquery text, and the best guess as words)."""
        if any(c.phrase for g in parsed.groups for c in g):
            return None
        words = [fold(w) for w in parsed.words()[:6] if len(w) >= 3 and not w.isdigit()]
        if not words:
            return None
        rows = await fetch_all(
            cur, "SELECT word, near FROM cmms_search_similar_words(%s::text[], %s::real)", (words, WORD_SIMILARITY)
        )
        if not any(r["near"] and r["near"] != [r["word"]] for r in rows):
            return None
        groups, guess = [], []
        for row in rows:
            options = list(dict.fromkeys([row["word"], *row["near"]]))
            groups.append("(" + " | ".join(_quote(o) for o in options) + ")")
            guess.append(row["near"][0] if row["near"] else row["word"])
        found = await fetch_one(cur, "SELECT to_tsquery('cmms_english', %s)::text AS tsq", (" & ".join(groups),))
        return str(found["tsq"]), " ".join(guess)

    async def _run(
        self, cur: Cursor, tenant_id: int, query: SearchQuery, mode: Mode, variant: str, extra: dict[str, Any]
    ) -> SearchResult:
        parsed = query.parsed
        browse = variant == "browse"
        params: dict[str, Any] = {
            "tenant": tenant_id,
            "text": None,
            "head": None,
            "prefix": None,
            "stem": None,
            "tsq": None,
            "orders_status": list(query.kind_statuses("orders")) or None,
            "assets_status": list(query.kind_statuses("assets")) or None,
            "priority": list(query.priority) or None,
            "criticality": list(query.criticality) or None,
            "plant_id": query.plant_id,
            "requested_by": query.requested_by,
            "number": None if browse else parsed.number,
            "code": _like_prefix(parsed.code) if parsed.code and not browse else None,
            "code_similar": None,
            **{f"cap_{kind}": CANDIDATES if query.searches(kind) else 0 for kind in KINDS},
            "window": query.offset + query.limit,
            "offset": query.offset,
            "limit": query.limit,
            **extra,
        }
        row = await execute_prepared(cur, variant, params)
        if row["nodes"] == 0:
            return SearchResult([], 0, empty_facets(), "none", self.name)
        facets = _facets(row["facets"])
        total = sum(facets["type"].values())
        capped = any(n >= CANDIDATES for n in facets["type"].values())
        items = [_item(r) for r in row["items"]]
        return SearchResult(items, total, facets, mode, self.name, "gte" if capped else "eq")

    async def index(self, tenant_id: int, kind: Kind, documents: Sequence[dict[str, Any]]) -> None:
        return None  # triggers keep documents current in the writing transaction

    async def delete(self, tenant_id: int, kind: Kind, ids: Sequence[int]) -> None:
        return None

    def changed(self, tenant_id: int) -> None:
        return None

    async def run(self) -> None:
        return None

    async def reindex(self, tenant_id: int | None = None) -> dict[str, Any]:
        return {"backend": self.name, "reindexed": False, "detail": "documents are kept current by database triggers"}

    async def health(self) -> dict[str, object]:
        return {"ok": True, "backend": self.name}

    async def close(self) -> None:
        return None
