-- Where the outbox relay has got to, per tenant: a restart resumes here instead of losing events.
CREATE TABLE outbox_relay (
  tenant_id   bigint PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  last_seq    bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_relay TO cmms_app;
