-- Cheaper highlights and fresh statistics for search (the statement is in cmms/search/postgres.py).
--
-- ts_headline's cost grows with the query it is given: a word being typed is completed into up
-- to 30 words ('seal' | 'seals' | 'sealed' ...), a phrase into positions to check, and for each
-- candidate passage ts_headline evaluates the whole query again. Highlighting needs none of
-- that: every occurrence of any positive term is marked. So highlights get the query's distinct
-- positive lexemes OR-ed (prefixes kept), and a row's title or body is passed to ts_headline
-- only when its part of the stored document (weight A, or B and C) holds one of those lexemes:
-- parsing a text that cannot match is most of what a headline costs.

-- The positive (not negated) operands of a tsquery, each once: its lexeme and whether it is a
-- prefix. A negated word reads !'word'; a negated phrase !( 'a' <-> 'b' ), which is dropped first.
CREATE FUNCTION cmms_query_terms(tsq tsquery) RETURNS TABLE (lexeme text, prefix boolean)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$
    SELECT DISTINCT replace(m[2], '''''', ''''), coalesce(m[3] LIKE '%*%', false)
      FROM regexp_matches(regexp_replace(tsq::text, '!\s*\([^()]*\)', '', 'g'),
                          '(!?)''((?:[^'']|'''')*)''(:[*A-D]+)?', 'g') AS m
     WHERE m[1] = ''
  $$;

-- The query that ts_headline marks: the positive terms OR-ed; NULL when there are none.
CREATE FUNCTION cmms_highlight_query(tsq tsquery) RETURNS tsquery
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$
    SELECT string_agg(quote_literal(t.lexeme) || CASE WHEN t.prefix THEN ':*' ELSE '' END, ' | ')::tsquery
      FROM cmms_query_terms(tsq) AS t
  $$;

-- The lexemes a document part must hold to be worth highlighting; NULL (always highlight) when a
-- term is a prefix, which lexeme equality cannot decide.
CREATE FUNCTION cmms_highlight_lexemes(tsq tsquery) RETURNS text[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$
    SELECT CASE WHEN bool_or(t.prefix) THEN NULL ELSE coalesce(array_agg(t.lexeme), '{}') END
      FROM cmms_query_terms(tsq) AS t
  $$;

-- `cmms seed` bulk-loads as cmms_app, which may not ANALYZE tables it does not own. Straight
-- after a load the planner has no statistics, and every GIN index holds the new rows in its
-- pending list, which each search then reads from end to end (60 ms for one order number was
-- seen) until a VACUUM merges it. This does both, as the owner of the tables.
CREATE FUNCTION cmms_after_bulk_load() RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
BEGIN
  ANALYZE plants, assets, work_orders, order_notes, asset_search, work_order_search, search_words;
  PERFORM gin_clean_pending_list(i.indexrelid)
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    WHERE a.amname = 'gin'
      AND i.indrelid IN ('assets'::regclass, 'asset_search'::regclass, 'work_order_search'::regclass,
                         'search_words'::regclass);
END $$;

REVOKE ALL ON FUNCTION cmms_after_bulk_load() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cmms_after_bulk_load() TO cmms_app;
