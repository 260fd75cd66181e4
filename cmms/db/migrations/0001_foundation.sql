-- Foundation schema: tenants, users, sessions, plants, assets, readings, orders, plans, alerts,
-- audit log and the event outbox. Every tenant-owned table carries tenant_id and a row-level
-- security policy keyed on the per-transaction setting cmms.tenant_id.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$ BEGIN
  CREATE ROLE cmms_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- The migrating user must be able to SET ROLE cmms_app (superusers can anyway).
DO $$ BEGIN
  EXECUTE format('GRANT cmms_app TO %I', current_user);
EXCEPTION WHEN others THEN NULL;
END $$;

CREATE FUNCTION cmms_tenant() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('cmms.tenant_id', true), '')::bigint $$;

CREATE TABLE tenants (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  display_name text NOT NULL,
  event_seq   bigint NOT NULL DEFAULT 0,
  order_seq   bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email         text NOT NULL,
  name          text,
  role          text NOT NULL CHECK (role IN ('admin','manager','technician','requester')),
  password_hash text NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, email)
);
CREATE INDEX users_tenant_role ON users (tenant_id, role);

CREATE TABLE refresh_tokens (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  rotated_at  timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

CREATE TABLE plants (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name        text NOT NULL,
  code        text,
  address     text,
  timezone    text NOT NULL DEFAULT 'UTC',
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE assets (
  id           bigserial PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  plant_id     bigint NOT NULL,
  parent_id    bigint,
  name         text NOT NULL,
  code         text,
  type         text,
  manufacturer text,
  model        text,
  serial       text,
  criticality  text NOT NULL DEFAULT 'medium' CHECK (criticality IN ('low','medium','high','critical')),
  status       text NOT NULL DEFAULT 'operational' CHECK (status IN ('operational','down','maintenance','retired')),
  meters       jsonb NOT NULL DEFAULT '[]',
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, plant_id) REFERENCES plants (tenant_id, id),
  FOREIGN KEY (tenant_id, parent_id) REFERENCES assets (tenant_id, id)
);
CREATE UNIQUE INDEX assets_code ON assets (tenant_id, code) WHERE code IS NOT NULL;
CREATE INDEX assets_plant ON assets (tenant_id, plant_id, id);
CREATE INDEX assets_parent ON assets (tenant_id, parent_id);
CREATE INDEX assets_status ON assets (tenant_id, status);
CREATE INDEX assets_criticality ON assets (tenant_id, criticality);
CREATE INDEX assets_name_trgm ON assets USING gin (name gin_trgm_ops);

CREATE TABLE meter_readings (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  asset_id    bigint NOT NULL,
  meter       text NOT NULL,
  value       double precision NOT NULL,
  at          timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX meter_readings_asset ON meter_readings (tenant_id, asset_id, meter, at DESC);

CREATE TABLE plans (
  id             bigserial PRIMARY KEY,
  tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  asset_id       bigint NOT NULL,
  title          text NOT NULL,
  instructions   text NOT NULL DEFAULT '',
  trigger        text NOT NULL CHECK (trigger IN ('calendar','meter')),
  schedule       text NOT NULL DEFAULT 'fixed' CHECK (schedule IN ('fixed','floating')),
  interval_days  integer,
  meter          text,
  meter_interval double precision,
  lead_days      integer NOT NULL DEFAULT 7,
  priority       text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low','medium','high','critical')),
  next_due_at    timestamptz,
  next_due_meter double precision,
  last_done_at   timestamptz,
  last_done_meter double precision,
  active         boolean NOT NULL DEFAULT true,
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
  CHECK (trigger <> 'calendar' OR interval_days IS NOT NULL),
  CHECK (trigger <> 'meter' OR (meter IS NOT NULL AND meter_interval IS NOT NULL))
);
CREATE INDEX plans_asset ON plans (tenant_id, asset_id);
CREATE INDEX plans_due ON plans (tenant_id, active, next_due_at);

CREATE TABLE work_orders (
  id               bigserial PRIMARY KEY,
  tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  number           bigint NOT NULL,
  title            text NOT NULL,
  description      text NOT NULL DEFAULT '',
  type             text NOT NULL DEFAULT 'corrective' CHECK (type IN ('corrective','preventive','inspection','emergency')),
  priority         text NOT NULL DEFAULT 'medium' CHECK (priority IN ('low','medium','high','critical')),
  status           text NOT NULL CHECK (status IN ('requested','open','in_progress','on_hold','completed','closed','cancelled')),
  asset_id         bigint,
  plant_id         bigint,
  assignee_id      bigint REFERENCES users(id),
  requested_by     bigint REFERENCES users(id),
  plan_id          bigint,
  due_at           timestamptz,
  started_at       timestamptz,
  completed_at     timestamptz,
  closed_at        timestamptz,
  downtime_minutes integer NOT NULL DEFAULT 0,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, number),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
  FOREIGN KEY (tenant_id, plant_id) REFERENCES plants (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);
CREATE INDEX work_orders_list ON work_orders (tenant_id, id DESC);
CREATE INDEX work_orders_status ON work_orders (tenant_id, status, id DESC);
CREATE INDEX work_orders_priority ON work_orders (tenant_id, priority, id DESC);
CREATE INDEX work_orders_asset ON work_orders (tenant_id, asset_id, id DESC);
CREATE INDEX work_orders_plant ON work_orders (tenant_id, plant_id, id DESC);
CREATE INDEX work_orders_assignee ON work_orders (tenant_id, assignee_id, id DESC);
CREATE INDEX work_orders_requester ON work_orders (tenant_id, requested_by, id DESC);
CREATE INDEX work_orders_plan_open ON work_orders (tenant_id, plan_id) WHERE plan_id IS NOT NULL;
CREATE INDEX work_orders_title_trgm ON work_orders USING gin (title gin_trgm_ops);

CREATE TABLE order_notes (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  order_id    bigint NOT NULL,
  author_id   bigint REFERENCES users(id),
  body        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, order_id) REFERENCES work_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX order_notes_order ON order_notes (tenant_id, order_id, id);

CREATE TABLE alerts (
  id              bigserial PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  asset_id        bigint,
  kind            text NOT NULL,
  severity        text NOT NULL CHECK (severity IN ('info','warning','critical')),
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open','acknowledged','resolved')),
  message         text NOT NULL,
  acknowledged_by bigint REFERENCES users(id),
  acknowledged_at timestamptz,
  resolved_by     bigint REFERENCES users(id),
  resolved_at     timestamptz,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id)
);
CREATE INDEX alerts_status ON alerts (tenant_id, status, id DESC);
CREATE INDEX alerts_asset ON alerts (tenant_id, asset_id, id DESC);
CREATE INDEX alerts_severity ON alerts (tenant_id, severity, id DESC);

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  actor_id    bigint,
  action      text NOT NULL,
  entity      text NOT NULL,
  entity_id   bigint,
  changes     jsonb NOT NULL DEFAULT '{}',
  request_id  text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_list ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_entity ON audit_log (tenant_id, entity, entity_id, id DESC);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, id DESC);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE outbox (
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  seq         bigint NOT NULL,
  type        text NOT NULL,
  audience    text[] NOT NULL,
  data        jsonb NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX outbox_at ON outbox (at);

-- Row-level security: the application role sees only the tenant named by cmms.tenant_id.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users','refresh_tokens','plants','assets','meter_readings','plans',
                           'work_orders','order_notes','alerts','audit_log','outbox'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = cmms_tenant()) '
                   'WITH CHECK (tenant_id = cmms_tenant())', t);
  END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO cmms_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cmms_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cmms_app;
GRANT EXECUTE ON FUNCTION cmms_tenant() TO cmms_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cmms_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO cmms_app;
