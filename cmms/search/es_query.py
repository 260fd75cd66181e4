"""Elasticsearch request bodies for a search, and the search result read from a response."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.domain.search import (
    KINDS,
    MARK_END,
    MARK_START,
    Clause,
    Kind,
    SearchQuery,
    SearchResult,
    empty_facets,
    fold,
    highlight,
    plain_snippet,
)

FIELDS = ["title^3", "body^2", "notes", "code.text^3"]
PLAIN_FIELDS = ["title.plain", "body.plain", "notes.plain", "code.text"]
FACET_FIELDS = {
    "type": "kind",
    "status": "status",
    "priority": "priority",
    "order_type": "order_type",
    "criticality": "criticality",
    "plant_id": "plant_id",
    "entity": "entity",
}

ITEM_FIELDS: dict[Kind, tuple[str, ...]] = {
    "orders": ("number", "status", "priority", "order_type", "plant_id", "asset_id", "updated_at"),
    "assets": ("code", "status", "criticality", "plant_id", "asset_type", "updated_at"),
    "parts": ("number", "unit", "barcode", "updated_at"),
    "audit": ("entity", "entity_id", "action", "actor_id", "created_at"),
}


def _clause(clause: Clause, fuzzy: bool) -> dict[str, Any]:
    if clause.phrase:
        return {"multi_match": {"query": clause.text, "type": "phrase", "fields": FIELDS}}
    match: dict[str, Any] = {"query": clause.text, "fields": FIELDS, "operator": "and"}
    if fuzzy:
        match.update(fuzziness="AUTO", prefix_length=1)
    return {"multi_match": match}


def text_query(query: SearchQuery, fuzzy: bool = False) -> dict[str, Any] | None:
    """The query string as Elasticsearch clauses (None: nothing to search for)."""
    parsed = query.parsed
    must: list[dict[str, Any]] = []
    for i, group in enumerate(parsed.groups):
        options = [_clause(c, fuzzy) for c in group]
        last = i == len(parsed.groups) - 1
        if last and parsed.prefix:
            options.append({"multi_match": {"query": parsed.prefix, "type": "bool_prefix", "fields": PLAIN_FIELDS}})
        must.append(options[0] if len(options) == 1 else {"bool": {"should": options, "minimum_should_match": 1}})
    must_not = [_clause(c, False) for c in parsed.excluded]
    if not must and not must_not:
        return None
    main: dict[str, Any] = {"bool": {"must": must, "must_not": must_not}}
    extra: list[dict[str, Any]] = []
    if parsed.number is not None:
        extra.append({"term": {"number": {"value": f"WO-{parsed.number:06d}", "boost": 10}}})
    if parsed.code is not None:
        extra.append({"prefix": {"code": {"value": fold(parsed.code), "boost": 10}}})
        if fuzzy:
            extra.append({"fuzzy": {"code": {"value": fold(parsed.code), "fuzziness": "AUTO"}}})
    if not extra:
        return main
    return {"bool": {"should": [main, *extra], "minimum_should_match": 1}}


def filters(tenant_id: int, query: SearchQuery) -> list[dict[str, Any]]:
    """The tenant (always), the kinds the caller may and wants to see, and the caller's filters."""
    kinds = [k for k in KINDS if query.searches(k)]
    out: list[dict[str, Any]] = [{"term": {"tenant_id": tenant_id}}, {"terms": {"kind": kinds}}]
    if query.status:
        out.append({"terms": {"status": list(query.status)}})
    if query.priority:
        out.append({"terms": {"priority": list(query.priority)}})
    if query.criticality:
        out.append({"terms": {"criticality": list(query.criticality)}})
    if query.plant_id is not None:
        out.append({"term": {"plant_id": query.plant_id}})
    if query.requested_by is not None:
        out.append(
            {
                "bool": {
                    "should": [
                        {"bool": {"must_not": [{"term": {"kind": "orders"}}]}},
                        {"term": {"requested_by": query.requested_by}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    return out


def search_body(tenant_id: int, query: SearchQuery, fuzzy: bool = False) -> dict[str, Any] | None:
    text = None if query.parsed.empty else text_query(query, fuzzy)
    if text is None and not query.parsed.empty:
        return None
    bool_query: dict[str, Any] = {"filter": filters(tenant_id, query)}
    if text is not None:
        bool_query["must"] = [text]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "aggs": {name: {"terms": {"field": field, "size": 50}} for name, field in FACET_FIELDS.items()},
        "sort": (
            [{"created_at": {"order": "desc"}}, {"id": {"order": "desc"}}]
            if text is None
            else [{"_score": {"order": "desc"}}, {"created_at": {"order": "desc"}}, {"id": {"order": "desc"}}]
        ),
    }
    if text is not None:
        body["highlight"] = {
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            "fields": {
                "title": {"number_of_fragments": 0},
                "title.plain": {"number_of_fragments": 0},
                "body": {"fragment_size": 150, "number_of_fragments": 2},
                "body.plain": {"fragment_size": 150, "number_of_fragments": 2},
                "notes": {"fragment_size": 150, "number_of_fragments": 2},
                "notes.plain": {"fragment_size": 150, "number_of_fragments": 2},
            },
        }
    return body


def _snippet(source: dict[str, Any], hl: dict[str, list[str]]) -> str:
    # The stemmed field and its .plain twin highlight the same text: take one of them, not both.
    for pairs in ((("body", "body.plain"), ("notes", "notes.plain")), (("title", "title.plain"),)):
        fragments = [next(hl[name] for name in pair if hl.get(name)) for pair in pairs if any(hl.get(n) for n in pair)]
        if fragments:
            return highlight(" … ".join([f for field in fragments for f in field][:2]))
    return plain_snippet(" ".join(filter(None, [source.get("body"), source.get("notes")])))


def to_result(response: dict[str, Any], mode: str) -> SearchResult:
    items: list[dict[str, Any]] = []
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        kind: Kind = source["kind"]
        item: dict[str, Any] = {
            "type": kind,
            "id": source["id"],
            "title": source.get("title", ""),
            "snippet": _snippet(source, hit.get("highlight") or {}),
            "score": round(float(hit.get("_score") or 0.0), 4),
        }
        for name in ITEM_FIELDS[kind]:
            value = source.get(name)
            if name in ("updated_at", "created_at") and isinstance(value, str):
                value = datetime.fromisoformat(value)
            item["at" if name == "created_at" else name] = value
        items.append(item)
    facets = empty_facets()
    for name in FACET_FIELDS:
        for bucket in response.get("aggregations", {}).get(name, {}).get("buckets", []):
            facets[name][str(bucket["key"])] = int(bucket["doc_count"])
    total = response["hits"]["total"]
    return SearchResult(
        items,
        int(total["value"]),
        facets,
        mode,  # type: ignore[arg-type]
        "elasticsearch",
        "gte" if total.get("relation") == "gte" else "eq",
    )
