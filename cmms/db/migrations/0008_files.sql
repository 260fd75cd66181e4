-- Files: the PostgreSQL file store (objects in fixed-size chunks), content-addressed blobs per
-- tenant, attachments on orders, assets and checklist items, and job results kept in the store.

-- The store. An object is written in one transaction (row, chunks, then its size and hash), so
-- it is visible complete or not at all. tenant_id NULL holds system output (system jobs).
CREATE TABLE file_objects (
  key         uuid PRIMARY KEY,
  tenant_id   bigint REFERENCES tenants(id) ON DELETE CASCADE,
  size        bigint NOT NULL DEFAULT 0,
  sha256      text NOT NULL DEFAULT '',
  chunk_size  integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_objects_scope ON file_objects (tenant_id, created_at);
CREATE TABLE file_chunks (
  key        uuid NOT NULL REFERENCES file_objects(key) ON DELETE CASCADE,
  seq        integer NOT NULL,
  tenant_id  bigint,
  data       bytea NOT NULL,
  PRIMARY KEY (key, seq)
);
-- Photos and PDFs are compressed already: skip TOAST compression, keep out-of-line storage.
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- One blob per distinct content in a tenant; attachments point at it.
CREATE TABLE file_blobs (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  sha256        text NOT NULL,
  size          bigint NOT NULL,
  content_type  text NOT NULL,
  store_key     text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, sha256)
);
CREATE TABLE attachments (
  id            bigserial PRIMARY KEY,
  tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  blob_id       bigint NOT NULL REFERENCES file_blobs(id),
  parent_type   text NOT NULL CHECK (parent_type IN ('order', 'asset', 'checklist_item')),
  parent_id     bigint NOT NULL,
  order_id      bigint REFERENCES work_orders(id) ON DELETE CASCADE,  -- orders and checklist items
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  content_type  text NOT NULL,
  size          bigint NOT NULL,
  sha256        text NOT NULL,
  created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  version       integer NOT NULL DEFAULT 1
);
CREATE INDEX attachments_parent ON attachments (tenant_id, parent_type, parent_id, id);
CREATE INDEX attachments_blob ON attachments (blob_id);

ALTER TABLE jobs ADD COLUMN result_key text, ADD COLUMN result_size bigint;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['file_objects', 'file_chunks'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                   'USING (tenant_id = cmms_tenant() OR (tenant_id IS NULL AND cmms_tenant() IS NULL)) '
                   'WITH CHECK (tenant_id = cmms_tenant() OR (tenant_id IS NULL AND cmms_tenant() IS NULL))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cmms_app', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['file_blobs', 'attachments'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = cmms_tenant()) '
                   'WITH CHECK (tenant_id = cmms_tenant())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cmms_app', t);
  END LOOP;
END $$;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO cmms_app;
