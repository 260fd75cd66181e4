"""PostgreSQL full-text search: the default backend.

Documents are weighted tsvectors kept current by triggers (migration 0003): title A, description
B, notes C; English stems; accents folded. A query is read by `websearch_to_tsquery`; its last
word, while being typed, is completed from the tenant's lexicon of words. When
the full text finds almost nothing, each word is corrected against the tenant's lexicon by
trigram similarity (and an asset code is compared by similarity), and the corrected query runs.

Cost is bounded whatever the query: per kind, at most `CANDIDATES` matches are ranked and counted,
the most recent ones. Beyond that the total is a lower bound (`total_relation` "gte"), as in
Elasticsearch past `track_total_hits`, and the facets count those candidates. One prepared
statement finds the candidates, ranks, pages, highlights and counts facets (`pg_statement`).

The search layer does not import `cmms.db`: this backend reaches the database through the pool it
is given, scoped to the tenant by row-level security (`pg_session`). The candidates come from
SECURITY DEFINER functions that scope to the same tenant setting, because the text-search
operators are not LEAKPROOF and PostgreSQL will not use a GIN index for them under a policy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg2.errors

from cmms.domain.search import (
    KINDS,
    MARK_START,
    Kind,
    Mode,
    SearchQuery,
    SearchResult,
    empty_facets,
    fold,
    highlight,
    plain_snippet,
)
from cmms.domain.workflow import format_number
from cmms.search.pg_session import Cursor, connection, execute_prepared, forget_prepared
from cmms.search.pg_statement import like_prefix, prepared, quote

log = logging.getLogger(__name__)

CANDIDATES = 200  # matches ranked and counted per kind (the most recent ones)
FUZZY_BELOW = 3  # fewer full-text hits than this: try typo tolerance
WORD_SIMILARITY = "0.4"  # pg_trgm similarity between a typed word and a lexicon word (inclusive)


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


def _typo_words(query: SearchQuery) -> list[str] | None:
    """The words typo tolerance would correct (folded), or None when it does not apply."""
    parsed = query.parsed
    if parsed.excluded or not (query.searches("orders") or query.searches("assets")):
        return None
    if any(c.phrase for g in parsed.groups for c in g):
        return None
    return [fold(w) for w in parsed.words()[:6] if len(w) >= 3 and not w.isdigit()] or None


def _corrected(near: list[list[Any]] | None) -> tuple[str, str] | None:
    """Each word OR its nearest lexicon words (as to_tsquery's input), and the best guess as words;
    None when no word has a nearer spelling."""
    if not near or not any(words and words != [word] for word, words in near):
        return None
    groups, guess = [], []
    for word, words in near:
        options = list(dict.fromkeys([word, *words]))
        groups.append("(" + " | ".join(quote(o) for o in options) + ")")
        guess.append(words[0] if words else word)
    return " & ".join(groups), " ".join(guess)


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
            forget_prepared()
            return await self._search(tenant_id, query)

    async def _search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        parsed = query.parsed
        async with connection(self.pool) as cur:
            if parsed.empty:
                return (await self._run(cur, tenant_id, query, "browse", "browse", {}))[0]
            if parsed.prefix:
                variant = "prefix"
                extra = {"head": parsed.head, "stem": fold(parsed.prefix), "prefix": quote(parsed.prefix) + ":*"}
            else:
                variant, extra = "text", {"text": parsed.text}
            # The statement also looks up the words' nearest lexicon words when it finds almost nothing.
            result, near = await self._run(
                cur, tenant_id, query, "fulltext", variant, {**extra, "correct": _typo_words(query)}
            )
            if result.mode == "none" or result.total >= FUZZY_BELOW or parsed.excluded:
                return result
            if parsed.number is not None and result.total > 0:
                return result  # an order number that exists: nothing to correct
            if not (query.searches("orders") or query.searches("assets")):
                return result
            corrected = _corrected(near)
            if corrected is None and parsed.code is None:
                return result
            fuzzy_extra: dict[str, Any] = {"code_similar": fold(parsed.code) if parsed.code else None}
            if corrected is None:
                fuzzy, _ = await self._run(cur, tenant_id, query, "fuzzy", variant, {**extra, **fuzzy_extra})
            else:
                fuzzy, _ = await self._run(
                    cur, tenant_id, query, "fuzzy", "tsquery", {"tsq": corrected[0], **fuzzy_extra}
                )
                fuzzy.suggestion = corrected[1]
            return fuzzy if fuzzy.total > result.total else result

    async def _run(
        self, cur: Cursor, tenant_id: int, query: SearchQuery, mode: Mode, variant: str, extra: dict[str, Any]
    ) -> tuple[SearchResult, list[list[Any]] | None]:
        """One statement's page, and each word's nearest lexicon words when `correct` named the
        words and the statement found fewer than FUZZY_BELOW candidates."""
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
            "code": like_prefix(parsed.code) if parsed.code and not browse else None,
            "code_similar": None,
            "correct": None,
            "fuzzy_below": FUZZY_BELOW,
            "similarity": WORD_SIMILARITY,
            **{f"cap_{kind}": CANDIDATES if query.searches(kind) else 0 for kind in KINDS},
            "window": query.offset + query.limit,
            "offset": query.offset,
            "limit": query.limit,
            **extra,
        }
        row = await execute_prepared(cur, tenant_id, prepared(variant), params)
        if row["nodes"] == 0:
            return SearchResult([], 0, empty_facets(), "none", self.name), None
        facets = _facets(orjson.loads(row["facets"]))
        total = sum(facets["type"].values())
        capped = any(n >= CANDIDATES for n in facets["type"].values())
        items = [_item(r) for r in orjson.loads(row["items"])]
        near = None if row["near"] is None else orjson.loads(row["near"])
        return SearchResult(items, total, facets, mode, self.name, "gte" if capped else "eq"), near

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
