-- Full-text search on PostgreSQL: weighted documents (title A, description B, notes C), GIN
-- indexes, unaccent, a trigram-indexed lexicon for typo tolerance, and the position of the
-- Elasticsearch indexer.
--
-- Where each document lives, and why:
--  * work orders and assets: in work_order_search / asset_search, one row each, kept by triggers
--    in the writing transaction. A tsvector column on work_orders or assets would leak into every
--    `SELECT *` / `RETURNING *` of the API, the events and the cache; and the notes of an order
--    live in another table, which a generated column cannot read. The filter and facet columns
--    are copied alongside, so a search reads one narrow table and never joins 100k orders.
--  * audit_log: a generated column (the audit trail is only read with explicit column lists).
--  * search_words: the distinct words of the tenant's orders, notes and assets. It completes the
--    word being typed into whole words, whose frequencies the planner knows (a raw prefix
--    'bearin':* it can only guess at), and corrects typos by trigram similarity ("compresor" ->
--    "compressor"); the corrected query then runs through the full-text index, instead of
--    comparing 100k titles by similarity.

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is STABLE (it looks its dictionary up by name); this wrapper names the dictionary
-- explicitly and is IMMUTABLE, so it can be used in index expressions and generated columns.
CREATE FUNCTION cmms_unaccent(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- Text search configurations that fold accents while parsing, so that documents, queries and
-- ts_headline agree: "Café" is stored as 'cafe', and a search for "cafe" highlights "Café".
CREATE TEXT SEARCH CONFIGURATION cmms_english (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION cmms_english
  ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION cmms_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION cmms_simple
  ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, simple;

-- A document holds English stems ("leaking" ~ "leak"), accents folded. A word still being typed
-- is completed from the lexicon below ("bearin" -> bearing -> 'bear'), so documents need not
-- carry the unstemmed words too, and stay small: a search that matches many orders reads many.
CREATE FUNCTION cmms_order_document(title text, description text, notes text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT setweight(to_tsvector('cmms_english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('cmms_english', left(coalesce(description, ''), 100000)), 'B')
        || setweight(to_tsvector('cmms_english', left(coalesce(notes, ''), 100000)), 'C')
  $$;

CREATE FUNCTION cmms_asset_document(
  name text, code text, type text, manufacturer text, model text, serial text
) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT setweight(to_tsvector('cmms_english', coalesce(name, '') || ' ' || coalesce(code, '')), 'A')
        || setweight(to_tsvector('cmms_english', coalesce(type, '') || ' ' || coalesce(manufacturer, '')
                     || ' ' || coalesce(model, '') || ' ' || coalesce(serial, '')), 'B')
  $$;

-- The string and number values of an audit entry's changes, for snippets.
CREATE FUNCTION cmms_json_text(doc jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(string_agg(v #>> '{}', ' '), '')
      FROM jsonb_path_query(doc, 'strict $.**') AS v
     WHERE jsonb_typeof(v) IN ('string', 'number')
  $$;

-- The words of a text worth completing or correcting towards: lower case, unaccented, letters
-- only, 3 to 40 long.
CREATE FUNCTION cmms_words(text) RETURNS SETOF text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT DISTINCT w FROM regexp_split_to_table(lower(cmms_unaccent(coalesce($1, ''))), '[^[:alpha:]]+') AS w
     WHERE length(w) BETWEEN 3 AND 40
  $$;

-- ---- the lexicon ------------------------------------------------------------------------------

-- Every word of the tenant's titles, descriptions, notes and asset names. Completes the word
-- being typed ("bearin" -> bearing, bearings) with a prefix range on the C-collated key, and
-- corrects typos ("compresor" -> compressor) through the trigram index. Words are never removed:
-- a completion that no longer occurs simply matches nothing.
CREATE TABLE search_words (
  tenant_id  bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  word       text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, word)
);
CREATE INDEX search_words_trgm ON search_words USING gin (word gin_trgm_ops);

-- ---- work orders ------------------------------------------------------------------------------

CREATE TABLE work_order_search (
  tenant_id    bigint NOT NULL,
  order_id     bigint NOT NULL,
  document     tsvector NOT NULL,
  number       bigint NOT NULL,
  status       text NOT NULL,
  priority     text NOT NULL,
  type         text NOT NULL,
  plant_id     bigint,
  requested_by bigint,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, order_id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX work_order_search_document ON work_order_search USING gin (document);
CREATE INDEX work_order_search_number ON work_order_search (tenant_id, number);
CREATE INDEX work_order_search_requester ON work_order_search (tenant_id, requested_by, order_id);

CREATE FUNCTION cmms_order_notes(tenant bigint, order_id bigint) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT left(coalesce(string_agg(n.body, ' ' ORDER BY n.id), ''), 100000)
      FROM order_notes n WHERE n.tenant_id = tenant AND n.order_id = cmms_order_notes.order_id
  $$;

-- New orders, a whole statement at a time (bulk seeding inserts 100k rows in a few statements).
CREATE FUNCTION cmms_order_search_insert() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO work_order_search
    (tenant_id, order_id, document, number, status, priority, type, plant_id, requested_by, created_at)
  SELECT n.tenant_id, n.id, cmms_order_document(n.title, n.description, ''), n.number, n.status,
         n.priority, n.type, n.plant_id, n.requested_by, n.created_at
    FROM new_orders n;
  INSERT INTO search_words (tenant_id, word)
  SELECT DISTINCT n.tenant_id, w FROM new_orders n, cmms_words(n.title || ' ' || n.description) AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

-- Edited orders: the document is rebuilt only when its text changed.
CREATE FUNCTION cmms_order_search_update() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.title IS DISTINCT FROM OLD.title OR NEW.description IS DISTINCT FROM OLD.description THEN
    UPDATE work_order_search
       SET document = cmms_order_document(NEW.title, NEW.description, cmms_order_notes(NEW.tenant_id, NEW.id)),
           status = NEW.status, priority = NEW.priority, type = NEW.type, plant_id = NEW.plant_id,
           requested_by = NEW.requested_by
     WHERE tenant_id = NEW.tenant_id AND order_id = NEW.id;
    INSERT INTO search_words (tenant_id, word)
    SELECT NEW.tenant_id, w FROM cmms_words(NEW.title || ' ' || NEW.description) AS w
    ON CONFLICT DO NOTHING;
  ELSE
    UPDATE work_order_search
       SET status = NEW.status, priority = NEW.priority, type = NEW.type, plant_id = NEW.plant_id,
           requested_by = NEW.requested_by
     WHERE tenant_id = NEW.tenant_id AND order_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER work_orders_search_insert AFTER INSERT ON work_orders
  REFERENCING NEW TABLE AS new_orders FOR EACH STATEMENT EXECUTE FUNCTION cmms_order_search_insert();
CREATE TRIGGER work_orders_search_update
  AFTER UPDATE OF title, description, status, priority, type, plant_id, requested_by ON work_orders
  FOR EACH ROW EXECUTE FUNCTION cmms_order_search_update();

-- Notes refresh their orders' documents, once per statement whatever the number of notes.
CREATE FUNCTION cmms_order_notes_changed() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE work_order_search s
     SET document = cmms_order_document(o.title, o.description, cmms_order_notes(o.tenant_id, o.id))
    FROM (SELECT DISTINCT tenant_id, order_id FROM changed_notes) c
    JOIN work_orders o ON o.tenant_id = c.tenant_id AND o.id = c.order_id
   WHERE s.tenant_id = c.tenant_id AND s.order_id = c.order_id;
  INSERT INTO search_words (tenant_id, word)
  SELECT DISTINCT c.tenant_id, w FROM changed_notes c, cmms_words(c.body) AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER order_notes_search_insert AFTER INSERT ON order_notes
  REFERENCING NEW TABLE AS changed_notes FOR EACH STATEMENT EXECUTE FUNCTION cmms_order_notes_changed();
CREATE TRIGGER order_notes_search_update AFTER UPDATE ON order_notes
  REFERENCING NEW TABLE AS changed_notes FOR EACH STATEMENT EXECUTE FUNCTION cmms_order_notes_changed();
CREATE TRIGGER order_notes_search_delete AFTER DELETE ON order_notes
  REFERENCING OLD TABLE AS changed_notes FOR EACH STATEMENT EXECUTE FUNCTION cmms_order_notes_changed();

-- ---- assets -----------------------------------------------------------------------------------

CREATE TABLE asset_search (
  tenant_id    bigint NOT NULL,
  asset_id     bigint NOT NULL,
  document     tsvector NOT NULL,
  status       text NOT NULL,
  criticality  text NOT NULL,
  plant_id     bigint NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, asset_id),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_search_document ON asset_search USING gin (document);
CREATE INDEX assets_code_fuzzy ON assets USING gin (cmms_unaccent(code) gin_trgm_ops);

CREATE FUNCTION cmms_asset_search_insert() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO asset_search (tenant_id, asset_id, document, status, criticality, plant_id, created_at)
  SELECT n.tenant_id, n.id, cmms_asset_document(n.name, n.code, n.type, n.manufacturer, n.model, n.serial),
         n.status, n.criticality, n.plant_id, n.created_at
    FROM new_assets n;
  INSERT INTO search_words (tenant_id, word)
  SELECT DISTINCT n.tenant_id, w
    FROM new_assets n, cmms_words(concat_ws(' ', n.name, n.type, n.manufacturer, n.model)) AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE FUNCTION cmms_asset_search_update() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE asset_search
     SET document = cmms_asset_document(NEW.name, NEW.code, NEW.type, NEW.manufacturer, NEW.model, NEW.serial),
         status = NEW.status, criticality = NEW.criticality, plant_id = NEW.plant_id
   WHERE tenant_id = NEW.tenant_id AND asset_id = NEW.id;
  INSERT INTO search_words (tenant_id, word)
  SELECT NEW.tenant_id, w FROM cmms_words(concat_ws(' ', NEW.name, NEW.type, NEW.manufacturer, NEW.model)) AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER assets_search_insert AFTER INSERT ON assets
  REFERENCING NEW TABLE AS new_assets FOR EACH STATEMENT EXECUTE FUNCTION cmms_asset_search_insert();
CREATE TRIGGER assets_search_update
  AFTER UPDATE OF name, code, type, manufacturer, model, serial, status, criticality, plant_id ON assets
  FOR EACH ROW EXECUTE FUNCTION cmms_asset_search_update();

-- ---- existing rows ----------------------------------------------------------------------------

INSERT INTO work_order_search
  (tenant_id, order_id, document, number, status, priority, type, plant_id, requested_by, created_at)
SELECT o.tenant_id, o.id, cmms_order_document(o.title, o.description, cmms_order_notes(o.tenant_id, o.id)),
       o.number, o.status, o.priority, o.type, o.plant_id, o.requested_by, o.created_at
  FROM work_orders o;
INSERT INTO asset_search (tenant_id, asset_id, document, status, criticality, plant_id, created_at)
SELECT a.tenant_id, a.id, cmms_asset_document(a.name, a.code, a.type, a.manufacturer, a.model, a.serial),
       a.status, a.criticality, a.plant_id, a.created_at
  FROM assets a;
INSERT INTO search_words (tenant_id, word)
SELECT DISTINCT tenant_id, w FROM (
  SELECT tenant_id, title || ' ' || description AS t FROM work_orders
  UNION ALL SELECT tenant_id, body FROM order_notes
  UNION ALL SELECT tenant_id, concat_ws(' ', name, type, manufacturer, model) FROM assets
) x, cmms_words(x.t) AS w
ON CONFLICT DO NOTHING;

-- ---- audit trail ------------------------------------------------------------------------------

ALTER TABLE audit_log ADD COLUMN document tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('cmms_simple', entity || ' ' || action), 'A')
  || setweight(jsonb_to_tsvector('cmms_english', changes, '["string", "numeric"]'), 'B')
) STORED;
CREATE INDEX audit_log_document ON audit_log USING gin (document);

-- ---- candidate search, tenant-scoped ----------------------------------------------------------

-- Row-level security and GIN indexes do not mix: the text-search match operator (ts_match_vq)
-- and the trigram operators are not LEAKPROOF, so under a policy PostgreSQL may not use them as
-- index conditions and reads every row of the tenant instead. These functions find the
-- candidates as the owner of the tables (whom the policies do not bind) and scope them to the
-- tenant named by cmms.tenant_id exactly as the policies do; no tenant, no rows. They are the
-- only way the application role reaches the indexes; everything else it reads stays under RLS.
--
-- Each returns at most `cap` matches, the most recent ones, ranked by ts_rank (weights A > B > C).
-- The dynamic statements are planned for each call with the actual query: a backwards walk of
-- the primary key for a common word, the GIN index for a rare one.

CREATE FUNCTION cmms_search_orders(
  tsq tsquery, number bigint, statuses text[], priorities text[], plant bigint, requester bigint, cap integer
) RETURNS TABLE (id bigint, score real, at timestamptz, status text, priority text, type text, plant_id bigint)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
DECLARE
  tenant bigint := cmms_tenant();
  cond text := 's.tenant_id = $1';
  score text := '0::real';
  plan json;
  few boolean := false;
BEGIN
  IF tenant IS NULL OR cap IS NULL OR cap <= 0 OR numnode(tsq) = 0 THEN RETURN; END IF;
  IF tsq IS NOT NULL THEN
    score := 'ts_rank(x.document, $2)';
    cond := cond || ' AND (s.document @@ $2';
    IF number IS NOT NULL THEN
      score := score || ' + CASE WHEN x.number = $3 THEN 1::real ELSE 0::real END';
      cond := cond || ' OR s.number = $3';
    END IF;
    cond := cond || ')';
  END IF;
  IF cardinality(statuses) > 0 THEN cond := cond || ' AND s.status = ANY($4)'; END IF;
  IF cardinality(priorities) > 0 THEN cond := cond || ' AND s.priority = ANY($5)'; END IF;
  IF plant IS NOT NULL THEN cond := cond || ' AND s.plant_id = $6'; END IF;
  IF requester IS NOT NULL THEN cond := cond || ' AND s.requested_by = $7'; END IF;
  IF tsq IS NOT NULL THEN
    -- Few expected matches: read them all through the GIN index and keep the newest. Many:
    -- walk the newest orders backwards until `cap` match. Left to itself the planner weighs the
    -- two on the same estimate but misjudges the walk (36k rows for 200 matches was seen).
    EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM work_order_search s WHERE ' || cond INTO plan
      USING tenant, tsq, number, statuses, priorities, plant, requester;
    few := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8 < cap * 10;
  END IF;
  IF few THEN
    PERFORM set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true);
  END IF;
  -- Ranked after the limit: ts_rank for `cap` rows, not for every match the GIN index found.
  RETURN QUERY EXECUTE 'SELECT x.order_id, ' || score || ', x.created_at, x.status, x.priority, x.type, x.plant_id'
    ' FROM (SELECT s.order_id, s.document, s.number, s.created_at, s.status, s.priority, s.type, s.plant_id'
    ' FROM work_order_search s WHERE ' || cond || ' ORDER BY s.order_id DESC LIMIT $8) x'
    USING tenant, tsq, number, statuses, priorities, plant, requester, cap;
  IF few THEN
    PERFORM set_config('enable_indexscan', 'on', true), set_config('enable_seqscan', 'on', true);
  END IF;
END $$;

CREATE FUNCTION cmms_search_assets(
  tsq tsquery, code_prefix text, code_similar text, statuses text[], criticalities text[], plant bigint, cap integer
) RETURNS TABLE (id bigint, score real, at timestamptz, status text, criticality text, plant_id bigint)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
DECLARE
  tenant bigint := cmms_tenant();
  codes bigint[] := '{}';
  score text := '0::real';
  cond text := 's.tenant_id = $1';
BEGIN
  IF tenant IS NULL OR cap IS NULL OR cap <= 0 OR numnode(tsq) = 0 THEN RETURN; END IF;
  IF code_prefix IS NOT NULL OR code_similar IS NOT NULL THEN
    PERFORM set_config('pg_trgm.similarity_threshold', '0.4', true);
    SELECT coalesce(array_agg(x.id), '{}') INTO codes FROM (
      SELECT a.id FROM assets a
       WHERE a.tenant_id = tenant
         AND (cmms_unaccent(a.code) ILIKE code_prefix OR cmms_unaccent(a.code) % code_similar)
       LIMIT cap) x;
  END IF;
  IF tsq IS NOT NULL THEN
    score := 'ts_rank(x.document, $2) + CASE WHEN x.asset_id = ANY($3) THEN 1::real ELSE 0::real END';
    cond := cond || ' AND (s.document @@ $2' || CASE WHEN cardinality(codes) > 0 THEN ' OR s.asset_id = ANY($3))' ELSE ')' END;
  END IF;
  IF cardinality(statuses) > 0 THEN cond := cond || ' AND s.status = ANY($4)'; END IF;
  IF cardinality(criticalities) > 0 THEN cond := cond || ' AND s.criticality = ANY($5)'; END IF;
  IF plant IS NOT NULL THEN cond := cond || ' AND s.plant_id = $6'; END IF;
  RETURN QUERY EXECUTE 'SELECT x.asset_id, ' || score || ', x.created_at, x.status, x.criticality, x.plant_id'
    ' FROM (SELECT s.asset_id, s.document, s.created_at, s.status, s.criticality, s.plant_id'
    ' FROM asset_search s WHERE ' || cond || ' ORDER BY s.asset_id DESC LIMIT $7) x'
    USING tenant, tsq, codes, statuses, criticalities, plant, cap;
END $$;

CREATE FUNCTION cmms_search_audit(tsq tsquery, cap integer)
  RETURNS TABLE (id bigint, score real, at timestamptz, entity text)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
DECLARE
  tenant bigint := cmms_tenant();
  plan json;
  few boolean;
BEGIN
  IF tenant IS NULL OR cap IS NULL OR cap <= 0 OR numnode(tsq) = 0 THEN RETURN; END IF;
  IF tsq IS NULL THEN
    RETURN QUERY EXECUTE 'SELECT l.id, 0::real, l.at, l.entity FROM audit_log l WHERE l.tenant_id = $1'
      ' ORDER BY l.id DESC LIMIT $2' USING tenant, cap;
    RETURN;
  END IF;
  EXECUTE 'EXPLAIN (FORMAT JSON) SELECT 1 FROM audit_log l WHERE l.tenant_id = $1 AND l.document @@ $2'
    INTO plan USING tenant, tsq;
  few := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8 < cap * 10;
  IF few THEN
    PERFORM set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true);
  END IF;
  RETURN QUERY EXECUTE 'SELECT x.id, ts_rank(x.document, $2), x.at, x.entity FROM (SELECT l.id, l.document,'
    ' l.at, l.entity FROM audit_log l WHERE l.tenant_id = $1 AND l.document @@ $2 ORDER BY l.id DESC LIMIT $3) x'
    USING tenant, tsq, cap;
  IF few THEN
    PERFORM set_config('enable_indexscan', 'on', true), set_config('enable_seqscan', 'on', true);
  END IF;
END $$;

-- Typo tolerance: for each word, up to three lexicon words of the tenant by trigram similarity
-- (0.4 accepts one wrong letter in a six-letter word: gaskte ~ gasket).
CREATE FUNCTION cmms_search_similar_words(words text[], threshold real)
  RETURNS TABLE (word text, near text[])
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
DECLARE
  tenant bigint := cmms_tenant();
BEGIN
  IF tenant IS NULL THEN RETURN; END IF;
  -- `%` is "more similar than the threshold"; the explicit test makes the threshold inclusive.
  PERFORM set_config('pg_trgm.similarity_threshold', greatest(threshold - 0.001, 0)::text, true);
  RETURN QUERY
    SELECT q.w, array(SELECT s.word FROM search_words s
                       WHERE s.tenant_id = tenant AND s.word % q.w AND similarity(s.word, q.w) >= threshold
                       ORDER BY similarity(s.word, q.w) DESC, s.word LIMIT 3)
      FROM unnest(words) WITH ORDINALITY AS q(w, i) ORDER BY q.i;
END $$;

REVOKE ALL ON FUNCTION cmms_search_orders(tsquery, bigint, text[], text[], bigint, bigint, integer),
  cmms_search_assets(tsquery, text, text, text[], text[], bigint, integer),
  cmms_search_audit(tsquery, integer), cmms_search_similar_words(text[], real) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cmms_search_orders(tsquery, bigint, text[], text[], bigint, bigint, integer),
  cmms_search_assets(tsquery, text, text, text[], text[], bigint, integer),
  cmms_search_audit(tsquery, integer), cmms_search_similar_words(text[], real) TO cmms_app;

-- ---- Elasticsearch indexing position ----------------------------------------------------------

-- How far the Elasticsearch indexer got, per tenant: the outbox seq and the audit_log id it has
-- indexed. Advanced in the same transaction as a successful bulk, so an outage of Elasticsearch
-- (or of this node) resumes from here instead of losing changes. Like outbox_relay it is read
-- across tenants by the indexer, so it has no row-level policy; every query names its tenant.
CREATE TABLE search_index_position (
  tenant_id     bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  last_seq      bigint NOT NULL DEFAULT 0,
  last_audit_id bigint NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['work_order_search', 'asset_search', 'search_words'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = cmms_tenant()) '
                   'WITH CHECK (tenant_id = cmms_tenant())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON work_order_search, asset_search, search_words, search_index_position
  TO cmms_app;
