-- Parts, stock and purchasing. `stock_moves` is the ledger and the truth: the application role may
-- only read and append to it. `stock_levels` is one row per (part, location), changed in the
-- move's own transaction under a row lock, and its CHECKs are the last line of the "never below
-- zero" rule. Quantities are numeric(15,3): three decimal places at most, whatever the unit.

CREATE TABLE parts (
  id           bigserial PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  number       text NOT NULL,
  name         text NOT NULL,
  unit         text NOT NULL DEFAULT 'pcs',
  description  text NOT NULL DEFAULT '',
  barcode      text,
  min_qty      numeric(15,3) NOT NULL DEFAULT 0 CHECK (min_qty >= 0),
  reorder_qty  numeric(15,3) NOT NULL DEFAULT 0 CHECK (reorder_qty >= 0),
  average_cost numeric(16,4) NOT NULL DEFAULT 0 CHECK (average_cost >= 0),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, number),
  UNIQUE (tenant_id, id)
);
CREATE INDEX parts_list ON parts (tenant_id, id DESC);
CREATE INDEX parts_barcode ON parts (tenant_id, barcode) WHERE barcode IS NOT NULL;

CREATE TABLE stock_locations (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name        text NOT NULL,
  plant_id    bigint,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, plant_id) REFERENCES plants (tenant_id, id)
);

CREATE TABLE vendors (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name        text NOT NULL,
  email       text,
  phone       text,
  notes       text NOT NULL DEFAULT '',
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE stock_levels (
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  part_id     bigint NOT NULL,
  location_id bigint NOT NULL,
  on_hand     numeric(15,3) NOT NULL DEFAULT 0,
  reserved    numeric(15,3) NOT NULL DEFAULT 0,
  -- set when a low_stock alert was raised; cleared when available is no longer below min_qty
  low         boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, part_id, location_id),
  CHECK (on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, location_id) REFERENCES stock_locations (tenant_id, id)
);
CREATE INDEX stock_levels_location ON stock_levels (tenant_id, location_id);

-- Parts planned on work orders: reserved until issued (a move at the average cost of the moment,
-- kept here), released when removed or the order is cancelled, returned when removed after issue.
CREATE TABLE order_parts (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id      bigint NOT NULL,
  part_id       bigint NOT NULL,
  location_id   bigint NOT NULL,
  qty           numeric(15,3) NOT NULL CHECK (qty > 0),
  status        text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved','issued','released','returned')),
  unit_cost     numeric(16,4),
  issued_at     timestamptz,
  created_by    bigint REFERENCES users(id),
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, location_id) REFERENCES stock_locations (tenant_id, id)
);
CREATE INDEX order_parts_order ON order_parts (tenant_id, order_id, id DESC);

CREATE TABLE purchase_orders (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  vendor_id     bigint NOT NULL,
  location_id   bigint NOT NULL,
  status        text NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft','ordered','partially_received','received','cancelled')),
  reference     text NOT NULL DEFAULT '',
  notes         text NOT NULL DEFAULT '',
  created_by    bigint REFERENCES users(id),
  ordered_at    timestamptz,
  received_at   timestamptz,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, vendor_id) REFERENCES vendors (tenant_id, id),
  FOREIGN KEY (tenant_id, location_id) REFERENCES stock_locations (tenant_id, id)
);
CREATE INDEX purchase_orders_list ON purchase_orders (tenant_id, id DESC);

CREATE TABLE purchase_order_lines (
  id                bigserial PRIMARY KEY,
  tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  purchase_order_id bigint NOT NULL,
  position          integer NOT NULL,
  part_id           bigint NOT NULL,
  qty               numeric(15,3) NOT NULL CHECK (qty > 0),
  unit_cost         numeric(14,2) NOT NULL CHECK (unit_cost >= 0),
  received_qty      numeric(15,3) NOT NULL DEFAULT 0 CHECK (received_qty >= 0 AND received_qty <= qty),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, purchase_order_id, position),
  FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES purchase_orders (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id)
);

CREATE TABLE stock_moves (
  id                bigserial PRIMARY KEY,
  tenant_id         bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  part_id           bigint NOT NULL,
  location_id       bigint NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('receive','issue','return','adjust','transfer')),
  -- positive for every kind but adjust, whose sign says which way the count was corrected
  qty               numeric(15,3) NOT NULL CHECK (qty <> 0 AND (qty > 0 OR kind = 'adjust')),
  unit_cost         numeric(16,4) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
  to_location_id    bigint CHECK ((kind = 'transfer') = (to_location_id IS NOT NULL) AND to_location_id <> location_id),
  order_id          bigint,
  order_part_id     bigint,
  purchase_order_id bigint,
  note              text NOT NULL DEFAULT '',
  created_by        bigint REFERENCES users(id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id),
  FOREIGN KEY (tenant_id, location_id) REFERENCES stock_locations (tenant_id, id),
  FOREIGN KEY (tenant_id, to_location_id) REFERENCES stock_locations (tenant_id, id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id),
  FOREIGN KEY (tenant_id, order_part_id) REFERENCES order_parts (tenant_id, id),
  FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES purchase_orders (tenant_id, id)
);
CREATE INDEX stock_moves_part ON stock_moves (tenant_id, part_id, id DESC);
CREATE INDEX stock_moves_order ON stock_moves (tenant_id, order_id, id DESC) WHERE order_id IS NOT NULL;
CREATE INDEX stock_moves_location ON stock_moves (tenant_id, location_id, id DESC);
CREATE INDEX stock_moves_created ON stock_moves (tenant_id, created_at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['parts','stock_locations','vendors','stock_levels','order_parts','purchase_orders',
                           'purchase_order_lines','stock_moves'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = cmms_tenant()) '
                   'WITH CHECK (tenant_id = cmms_tenant())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cmms_app', t);
  END LOOP;
END $$;
-- The ledger is append-only for the application: corrections are new moves (adjust, return).
REVOKE UPDATE, DELETE, TRUNCATE ON stock_moves FROM cmms_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cmms_app;

-- ---- search: parts by number, name, barcode and description (as assets, migration 0003) --------

CREATE FUNCTION cmms_part_document(number text, name text, barcode text, description text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT setweight(to_tsvector('cmms_english', coalesce(name, '') || ' ' || coalesce(number, '') || ' '
                                 || coalesce(barcode, '')), 'A')
        || setweight(to_tsvector('cmms_english', coalesce(description, '')), 'B')
  $$;

CREATE TABLE part_search (
  tenant_id    bigint NOT NULL,
  part_id      bigint NOT NULL,
  document     tsvector NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, part_id),
  FOREIGN KEY (tenant_id, part_id) REFERENCES parts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX part_search_document ON part_search USING gin (document);

CREATE FUNCTION cmms_part_search_write() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO part_search (tenant_id, part_id, document, created_at)
  VALUES (NEW.tenant_id, NEW.id, cmms_part_document(NEW.number, NEW.name, NEW.barcode, NEW.description), NEW.created_at)
  ON CONFLICT (tenant_id, part_id) DO UPDATE SET document = excluded.document;
  INSERT INTO search_words (tenant_id, word)
  SELECT NEW.tenant_id, w FROM cmms_words(NEW.name || ' ' || NEW.description) AS w
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER parts_search_insert AFTER INSERT ON parts FOR EACH ROW EXECUTE FUNCTION cmms_part_search_write();
CREATE TRIGGER parts_search_update AFTER UPDATE OF number, name, barcode, description ON parts
  FOR EACH ROW EXECUTE FUNCTION cmms_part_search_write();

-- Candidates for one tenant, SECURITY DEFINER for the same reason as cmms_search_assets: a part
-- number or barcode typed whole (or its beginning) ranks its part first.
CREATE FUNCTION cmms_search_parts(tsq tsquery, code_prefix text, cap integer)
  RETURNS TABLE (id bigint, score real, at timestamptz)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
  AS $$
DECLARE
  tenant bigint := cmms_tenant();
  codes bigint[] := '{}';
BEGIN
  IF tenant IS NULL OR cap IS NULL OR cap <= 0 OR numnode(tsq) = 0 THEN RETURN; END IF;
  IF tsq IS NULL THEN
    RETURN QUERY SELECT s.part_id, 0::real, s.created_at FROM part_search s WHERE s.tenant_id = tenant
      ORDER BY s.part_id DESC LIMIT cap;
    RETURN;
  END IF;
  IF code_prefix IS NOT NULL THEN
    SELECT coalesce(array_agg(x.id), '{}') INTO codes FROM (
      SELECT p.id FROM parts p
       WHERE p.tenant_id = tenant AND (cmms_unaccent(p.number) ILIKE code_prefix OR p.barcode ILIKE code_prefix)
       LIMIT cap) x;
  END IF;
  RETURN QUERY
    SELECT x.part_id, ts_rank(x.document, tsq) + CASE WHEN x.part_id = ANY(codes) THEN 1::real ELSE 0::real END,
           x.created_at
      FROM (SELECT s.part_id, s.document, s.created_at FROM part_search s
             WHERE s.tenant_id = tenant AND (s.document @@ tsq OR s.part_id = ANY(codes))
             ORDER BY s.part_id DESC LIMIT cap) x;
END $$;

REVOKE ALL ON FUNCTION cmms_search_parts(tsquery, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cmms_search_parts(tsquery, text, integer) TO cmms_app;
ALTER TABLE part_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON part_search USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON part_search TO cmms_app;
