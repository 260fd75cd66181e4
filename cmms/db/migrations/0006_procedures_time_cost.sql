-- The work on an order: procedures (checklist templates) and their snapshots on orders, time
-- entries and running timers, other cost lines; tenants gain a currency, users an hourly rate,
-- orders a follow-up link and plans a procedure. Money is numeric, never floating point.

ALTER TABLE tenants ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE users ADD COLUMN hourly_rate numeric(12,2) CHECK (hourly_rate >= 0);

CREATE TABLE procedures (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  revision    integer NOT NULL DEFAULT 1,
  items       jsonb NOT NULL DEFAULT '[]',
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE INDEX procedures_list ON procedures (tenant_id, id DESC);

ALTER TABLE plans ADD COLUMN procedure_id bigint;
ALTER TABLE plans ADD FOREIGN KEY (tenant_id, procedure_id) REFERENCES procedures (tenant_id, id);
ALTER TABLE work_orders ADD COLUMN follow_up_of bigint;
ALTER TABLE work_orders ADD FOREIGN KEY (tenant_id, follow_up_of) REFERENCES work_orders (tenant_id, id);
CREATE INDEX work_orders_follow_up ON work_orders (tenant_id, follow_up_of) WHERE follow_up_of IS NOT NULL;

-- One checklist per order: the procedure's revision as it was when attached.
CREATE TABLE order_checklists (
  tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id     bigint NOT NULL,
  procedure_id bigint,
  revision     integer NOT NULL,
  name         text NOT NULL,
  attached_by  bigint REFERENCES users(id),
  attached_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, order_id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, procedure_id) REFERENCES procedures (tenant_id, id) ON DELETE SET NULL (procedure_id)
);

CREATE TABLE checklist_items (
  id           bigserial PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id     bigint NOT NULL,
  position     integer NOT NULL,
  label        text NOT NULL,
  type         text NOT NULL CHECK (type IN ('checkbox','pass_fail','number','text','choice','meter','heading')),
  required     boolean NOT NULL DEFAULT false,
  unit         text,
  min          double precision,
  max          double precision,
  options      text[],
  meter        text,
  value        jsonb,
  result       text CHECK (result IN ('ok','flag','fail')),
  notes        text,
  done_by      bigint REFERENCES users(id),
  done_at      timestamptz,
  follow_up_id bigint,
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, order_id, position),
  -- a follow-up order belongs to one item only: the second writer of the same follow-up fails
  UNIQUE (tenant_id, follow_up_id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES order_checklists (tenant_id, order_id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, follow_up_id) REFERENCES work_orders (tenant_id, id)
);

CREATE TABLE time_entries (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id    bigint NOT NULL,
  user_id     bigint NOT NULL REFERENCES users(id),
  started_at  timestamptz NOT NULL,
  minutes     integer NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
  category    text NOT NULL DEFAULT 'normal' CHECK (category IN ('normal','overtime','travel')),
  note        text NOT NULL DEFAULT '',
  source      text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','timer')),
  hourly_rate numeric(12,2) NOT NULL DEFAULT 0 CHECK (hourly_rate >= 0),
  created_by  bigint REFERENCES users(id),
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX time_entries_order ON time_entries (tenant_id, order_id, id DESC);
CREATE INDEX time_entries_started ON time_entries (tenant_id, started_at);

-- At most one running timer per user: the primary key says so.
CREATE TABLE timers (
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  order_id    bigint NOT NULL,
  category    text NOT NULL DEFAULT 'normal' CHECK (category IN ('normal','overtime','travel')),
  started_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE order_costs (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id    bigint NOT NULL,
  category    text NOT NULL CHECK (category IN ('contractor','material','other')),
  amount      numeric(14,2) NOT NULL CHECK (amount >= 0),
  description text NOT NULL DEFAULT '',
  created_by  bigint REFERENCES users(id),
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX order_costs_order ON order_costs (tenant_id, order_id, id DESC);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['procedures','order_checklists','checklist_items','time_entries','timers',
                           'order_costs'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = cmms_tenant()) '
                   'WITH CHECK (tenant_id = cmms_tenant())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cmms_app', t);
  END LOOP;
END $$;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cmms_app;
