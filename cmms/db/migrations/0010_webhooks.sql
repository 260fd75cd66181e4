-- Webhooks: subscriptions of a tenant to event patterns, the durable deliveries the outbox relay
-- makes of matching events (one per webhook and seq, so a replayed relay inserts nothing twice)
-- and every attempt to send one. The sender holds a lease on the webhook row (owner, until) instead
-- of a transaction, so a hanging receiver holds no database connection and a killed worker's lease
-- simply runs out.

CREATE TABLE webhooks (
  id              bigserial PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url             text NOT NULL,
  events          text[] NOT NULL CHECK (cardinality(events) > 0),
  description     text NOT NULL DEFAULT '',
  secret          text NOT NULL,
  active          boolean NOT NULL DEFAULT true,
  role            text NOT NULL CHECK (role IN ('admin', 'manager')),
  created_by      bigint REFERENCES users(id) ON DELETE SET NULL,
  after_seq       bigint NOT NULL DEFAULT 0,   -- events up to here predate the subscription
  failing_since   timestamptz,
  disabled_reason text,
  lease_owner     text,
  lease_until     timestamptz,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE INDEX webhooks_active ON webhooks (tenant_id) WHERE active;

CREATE TABLE webhook_deliveries (
  id              bigserial PRIMARY KEY,
  tenant_id       bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  webhook_id      bigint NOT NULL,
  seq             bigint NOT NULL,
  event           text NOT NULL,
  body            text NOT NULL,               -- the exact bytes sent on every attempt
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  tries           integer NOT NULL DEFAULT 0,  -- attempts since it was (re)queued: the retry budget
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status     integer,
  last_error      text,
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (webhook_id, seq),
  FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (tenant_id, webhook_id, id DESC);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (created_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
  id           bigserial PRIMARY KEY,
  tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  delivery_id  bigint NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  number       integer NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  status_code  integer,
  duration_ms  double precision NOT NULL,
  error        text,
  response     text NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhooks
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
CREATE POLICY tenant_isolation ON webhook_deliveries
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
CREATE POLICY tenant_isolation ON webhook_attempts
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks, webhook_deliveries, webhook_attempts TO cmms_app;
GRANT USAGE, SELECT ON SEQUENCE webhooks_id_seq, webhook_deliveries_id_seq, webhook_attempts_id_seq TO cmms_app;

-- The sweep's one read across tenants: webhooks whose first pending delivery is due and that no
-- live sender holds. Only ids leave the function.
CREATE FUNCTION cmms_webhooks_due()
  RETURNS TABLE (tenant_id bigint, webhook_id bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
  AS $$ SELECT h.tenant_id, h.webhook_id
        FROM (SELECT DISTINCT ON (d.webhook_id) d.tenant_id, d.webhook_id, d.next_attempt_at
              FROM webhook_deliveries d WHERE d.status = 'pending' ORDER BY d.webhook_id, d.seq) h
        JOIN webhooks w ON w.id = h.webhook_id
        WHERE w.active AND h.next_attempt_at <= now() AND (w.lease_until IS NULL OR w.lease_until < now()) $$;
GRANT EXECUTE ON FUNCTION cmms_webhooks_due() TO cmms_app;

-- Finished deliveries (and their attempts) past retention, every tenant at once.
CREATE FUNCTION cmms_purge_webhook_deliveries(days integer) RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
  AS $$ WITH gone AS (DELETE FROM webhook_deliveries WHERE status <> 'pending'
                      AND created_at < now() - make_interval(days => days) RETURNING 1)
        SELECT count(*) FROM gone $$;
GRANT EXECUTE ON FUNCTION cmms_purge_webhook_deliveries(integer) TO cmms_app;
