-- Revoked access tokens: the record that outlives Redis. Redis and each process hold copies,
-- rebuilt from here when Redis comes back empty. Rows live as long as an access token can.
CREATE TABLE revocations (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('session', 'user')),
  subject     text NOT NULL,
  revoked_ms  bigint NOT NULL,   -- tokens issued at or before this instant are refused
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocations_subject ON revocations (tenant_id, kind, subject);
CREATE INDEX revocations_expiry ON revocations (expires_at);

ALTER TABLE revocations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON revocations
  USING (tenant_id = cmms_tenant()) WITH CHECK (tenant_id = cmms_tenant());
GRANT SELECT, INSERT, DELETE ON revocations TO cmms_app;
GRANT USAGE, SELECT ON SEQUENCE revocations_id_seq TO cmms_app;

-- Every tenant's live revocations at once, to rebuild the copies in Redis: the one read that
-- crosses tenants, so it returns only what a copy needs (no tenant data beyond ids).
CREATE FUNCTION cmms_live_revocations()
  RETURNS TABLE (kind text, subject text, revoked_ms bigint, expires_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
  AS $$ SELECT r.kind, r.subject, max(r.revoked_ms), max(r.expires_at) FROM revocations r
        WHERE r.expires_at > now() GROUP BY r.kind, r.subject $$;
GRANT EXECUTE ON FUNCTION cmms_live_revocations() TO cmms_app;

-- Expired rows of every tenant, for the system cleanup.
CREATE FUNCTION cmms_purge_revocations() RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
  AS $$ WITH gone AS (DELETE FROM revocations WHERE expires_at < now() - interval '1 hour' RETURNING 1)
        SELECT count(*) FROM gone $$;
GRANT EXECUTE ON FUNCTION cmms_purge_revocations() TO cmms_app;

-- Periodic jobs claim their period here, not in Redis, so a Redis restart never runs one twice.
CREATE TABLE periodic_runs (
  name       text NOT NULL,
  slot       bigint NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, slot)
);
GRANT SELECT, INSERT, DELETE ON periodic_runs TO cmms_app;
