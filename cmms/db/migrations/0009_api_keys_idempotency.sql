-- API keys for machines: the secret is stored only as its SHA-256; the key carries its tenant id
-- (like refresh tokens) so the row can be found under row-level security.
CREATE TABLE api_keys (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'manager', 'technician', 'requester')),
  prefix        text NOT NULL,            -- the first characters, to tell keys apart in lists
  secret_hash   bytea NOT NULL UNIQUE,
  created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_list ON api_keys (tenant_id, id DESC);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
GRANT SELECT, INSERT, UPDATE ON api_keys TO cmms_app;
GRANT USAGE, SELECT ON SEQUENCE api_keys_id_seq TO cmms_app;

-- The audit trail names the key a change was made with.
ALTER TABLE audit_log ADD COLUMN api_key_id bigint;

-- Idempotency-Key: the first answer to a POST, replayed for 24 h to a retry with the same body.
CREATE TABLE idempotency_keys (
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,           -- method, path and body of the first request
  status        integer,                  -- NULL while the first request is still running
  content_type  text,
  body          bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO cmms_app;
