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
