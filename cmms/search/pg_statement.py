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


def _texts(browse: bool, title: str, body: str, document: str | None = None) -> str:
    """What a page row is highlighted from: its title and body (at most 3000 characters), and
    whether each is worth a headline. ts_headline parses the text it is given, which is most of a
    search's cost, so it only gets the parts of `document` (title: weight A, body: B and C) that
    hold a query lexeme."""
    if browse:
        return f"{title} AS hl_title, left({body}, 3000) AS hl_body, false AS in_title, false AS in_body"
    return (
        f"{title} AS hl_title, left({body}, 3000) AS hl_body,"
        f" {_holds(document, 'a')} AS in_title, {_holds(document, 'b,c')} AS in_body"
    )


def statement(variant: str) -> str:
    """The search statement for one kind of query, with %(name)s parameters."""
    browse = variant == "browse"
    order_body = "b.body"  # description and notes, read once per row (the LATERAL below)
    asset_body = "concat_ws(' / ', x.code, x.type, x.manufacturer, x.model, x.serial)"
    audit_title = "x.action || ' ' || x.entity || coalesce(' ' || x.entity_id, '')"
    part_body = "concat_ws(' / ', x.number, x.barcode, x.description)"
    MARK, STRIP = literal(MARK_START), literal(SENTINELS)
    TITLE_OPTIONS, BODY_OPTIONS = literal(TITLE_HEADLINE), literal(HEADLINE)
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
           {_texts(browse, "w.title", order_body, None if browse else "s.document")}
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
           {_texts(browse, "x.name", asset_body)}
      FROM page p JOIN assets x ON p.kind = 'assets' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
    UNION ALL
    SELECT p.kind, p.id, p.score, p.at, {audit_title},
           json_build_object('entity', x.entity, 'entity_id', x.entity_id, 'action', x.action,
                             'actor_id', x.actor_id, 'at', x.at),
           {_texts(browse, audit_title, "cmms_json_text(x.changes)")}
      FROM page p JOIN audit_log x ON p.kind = 'audit' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
    UNION ALL
    SELECT p.kind, p.id, p.score, p.at, x.name,
           json_build_object('number', x.number, 'unit', x.unit, 'barcode', x.barcode, 'updated_at', x.updated_at),
           {_texts(browse, "x.name", part_body)}
      FROM page p JOIN parts x ON p.kind = 'parts' AND x.tenant_id = %(tenant)s::bigint AND x.id = p.id
),
-- The snippet is the body's highlighted fragments, else the highlighted title, else the text: a
-- title is only highlighted when the body has no match, and the text only sent when neither has.
marked AS (
    SELECT i.kind, i.id, i.score, i.at, i.title, i.extra, h.body_hl,
           CASE WHEN i.in_title AND strpos(coalesce(h.body_hl, ''), {MARK}) = 0
                THEN ts_headline('cmms_english', translate(i.hl_title, {STRIP}, ''), {HQ}, {TITLE_OPTIONS})
           END AS title_hl,
           i.hl_body
      FROM items i
      CROSS JOIN LATERAL (
          SELECT CASE WHEN i.in_body THEN ts_headline('cmms_english', translate(i.hl_body, {STRIP}, ''), {HQ},
                                                      {BODY_OPTIONS}) END AS body_hl
          OFFSET 0) h
),
-- Facets over the candidates: one grouping pass per kind.
counts AS (
    SELECT CASE grouping(status, priority, type, plant_id) WHEN 7 THEN 'status' WHEN 11 THEN 'priority'
                WHEN 13 THEN 'order_type' WHEN 14 THEN 'plant_id' ELSE 'type' END AS facet,
           CASE grouping(status, priority, type, plant_id) WHEN 7 THEN status WHEN 11 THEN priority
                WHEN 13 THEN type WHEN 14 THEN plant_id::text ELSE 'orders' END AS value, count(*) AS n
      FROM o GROUP BY GROUPING SETS ((), (status), (priority), (type), (plant_id)) HAVING count(*) > 0
    UNION ALL
    SELECT CASE grouping(status, criticality, plant_id) WHEN 3 THEN 'status' WHEN 5 THEN 'criticality'
                WHEN 6 THEN 'plant_id' ELSE 'type' END,
           CASE grouping(status, criticality, plant_id) WHEN 3 THEN status WHEN 5 THEN criticality
                WHEN 6 THEN plant_id::text ELSE 'assets' END, count(*)
      FROM a GROUP BY GROUPING SETS ((), (status), (criticality), (plant_id)) HAVING count(*) > 0
    UNION ALL SELECT 'type', 'audit', count(*) FROM l HAVING count(*) > 0
    UNION ALL SELECT 'type', 'parts', count(*) FROM pt HAVING count(*) > 0
    UNION ALL SELECT 'entity', entity, count(*) FROM l GROUP BY entity
)
-- JSON as text: the backend decodes it (orjson) faster than the driver's json type would.
SELECT (SELECT coalesce(numnode(tsq), -1) FROM q) AS nodes,
       (SELECT coalesce(json_agg(json_build_object(
            'kind', kind, 'id', id, 'score', score, 'title', title, 'extra', extra,
            'title_hl', title_hl, 'body_hl', body_hl,
            'body', CASE WHEN strpos(coalesce(body_hl, '') || coalesce(title_hl, ''), {MARK}) = 0
                         THEN left(hl_body, 400) END)
            ORDER BY score DESC, at DESC, kind, id DESC), '[]') FROM marked)::text AS items,
       (SELECT coalesce(json_agg(json_build_array(facet, value, n)), '[]') FROM counts)::text AS facets,
       -- Typo tolerance: each word's nearest lexicon words, when the words are given and the
       -- query found fewer than `fuzzy_below` candidates.
       CASE WHEN %(correct)s::text[] IS NOT NULL AND (SELECT coalesce(numnode(tsq), -1) FROM q) <> 0
                 AND (SELECT count(*) FROM o) + (SELECT count(*) FROM a) + (SELECT count(*) FROM l)
                     + (SELECT count(*) FROM pt) < %(fuzzy_below)s::int
            THEN (SELECT json_agg(json_build_array(w.word, w.near) ORDER BY w.i)
                    FROM cmms_search_similar_words(%(correct)s::text[], %(similarity)s::real)
                         WITH ORDINALITY w(word, near, i))::text
       END AS near
"""


@functools.cache
def prepared(variant: str) -> Prepared:
    return server_form(f"cmms_search_{variant}", statement(variant))
