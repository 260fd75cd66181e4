-- The highlight query and lexemes of migration 0011 in one PL/pgSQL function: SQL functions
-- plan their statements again at every execution of the search statement that calls them
-- (half a millisecond for the two, each search), where PL/pgSQL keeps its plans per session.
-- Same results: the positive terms OR-ed for ts_headline (NULL when there are none), and the
-- lexemes a part must hold to be highlighted (NULL when a term is a prefix). 0011's functions
-- stay for nodes still running the previous statement during an upgrade.
CREATE FUNCTION cmms_highlight_terms(tsq tsquery, OUT hq tsquery, OUT lexemes text[])
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  AS $$
DECLARE
  m text[];
  word text;
  mark text;
  words text[] := '{}';
  marks text[] := '{}';
  prefixed boolean := false;
BEGIN
  IF tsq IS NULL THEN
    RETURN;
  END IF;
  -- A negated word reads !'word', a negated phrase !( 'a' <-> 'b' ) (dropped first).
  FOR m IN SELECT regexp_matches(regexp_replace(tsq::text, '!\s*\([^()]*\)', '', 'g'),
                                 '(!?)''((?:[^'']|'''')*)''(:[*A-D]+)?', 'g') LOOP
    CONTINUE WHEN m[1] <> '';
    word := replace(m[2], '''''', '''');
    IF coalesce(m[3] LIKE '%*%', false) THEN
      prefixed := true;
      mark := quote_literal(word) || ':*';
    ELSE
      mark := quote_literal(word);
      IF NOT word = ANY(words) THEN
        words := words || word;
      END IF;
    END IF;
    IF NOT mark = ANY(marks) THEN
      marks := marks || mark;
    END IF;
  END LOOP;
  hq := CASE WHEN cardinality(marks) > 0 THEN array_to_string(marks, ' | ')::tsquery END;
  lexemes := CASE WHEN prefixed THEN NULL ELSE words END;
END $$;
