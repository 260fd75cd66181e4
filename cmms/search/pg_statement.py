"""The PostgreSQL search statement: one prepared statement per kind of query.

It finds the candidates of each kind (the SECURITY DEFINER functions of migrations 0003 and 0007,
which plan their own statements with the actual query), ranks and pages them, highlights the
page's rows and counts the facets over the candidates, in one round trip.
"""

from __future__ import annotations

import functools

from cmms.domain.search import MARK_END, MARK_START
from cmms.search.pg_session import Prepared, server_form

SENTINELS = MARK_START + MARK_END
HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=10, ShortWord=2,"
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"


def like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def quote(word: str) -> str:
    """A tsquery operand: quoted, quotes doubled, backslashes dropped."""
    return "'" + word.replace("\\", "").replace("'", "''") + "'"


def literal(text: str) -> str:
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
    # The words as typo tolerance corrected them: each OR its nearest lexicon words, AND-ed.
    "tsquery": "to_tsquery('cmms_english', %(tsq)s::text)",
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
    strip = literal(SENTINELS)
    return (
        f"CASE WHEN {_holds(document, 'a')} THEN ts_headline('cmms_english', translate({title}, {strip}, ''),"
        f" {HQ}, {literal(TITLE_HEADLINE)}) END AS title_hl,"
        f" CASE WHEN {_holds(document, 'b,c')} THEN ts_headline('cmms_english', translate(left({body}, 3000),"
        f" {strip}, ''), {HQ}, {literal(HEADLINE)}) END AS body_hl, left({body}, 400) AS body"
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


@functools.cache
def prepared(variant: str) -> Prepared:
    return server_form(f"cmms_search_{variant}", statement(variant))
