-- Background jobs: the user-facing record of work that taskiq carries out over Redis streams.
-- System jobs (scheduled backups, cleanup) have no tenant and are visible only without one.
CREATE TABLE jobs (
  id               bigserial PRIMARY KEY,
  tenant_id        bigint REFERENCES tenants(id) ON DELETE CASCADE,
  kind             text NOT NULL CHECK (kind IN ('email','reports','exports','maintenance','cache','search','backup','cleanup')),
  params           jsonb NOT NULL DEFAULT '{}',
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','completed','failed','cancelled')),
  progress         real NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
  message          text NOT NULL DEFAULT '',
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3,
  result           jsonb,
  result_path      text,
  result_type      text,
  error            text,
  requested_by     bigint REFERENCES users(id) ON DELETE SET NULL,
  cancel_requested boolean NOT NULL DEFAULT false,
  run_after        timestamptz,
  heartbeat_at     timestamptz,
  started_at       timestamptz,
  finished_at      timestamptz,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_list ON jobs (tenant_id, id DESC);
CREATE INDEX jobs_requester ON jobs (tenant_id, requested_by, id DESC);
CREATE INDEX jobs_active ON jobs (status, heartbeat_at) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
  USING (tenant_id = cmms_tenant() OR (tenant_id IS NULL AND cmms_tenant() IS NULL))
  WITH CHECK (tenant_id = cmms_tenant() OR (tenant_id IS NULL AND cmms_tenant() IS NULL));
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO cmms_app;
GRANT USAGE, SELECT ON SEQUENCE jobs_id_seq TO cmms_app;
