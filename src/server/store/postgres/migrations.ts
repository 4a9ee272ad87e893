/**
 * PostgreSQL's schema migrations, applied in order and recorded in `schema_migrations`. The first is the schema
 * SQLite's migrations (../sqlite/migrations.ts) had reached when PostgreSQL support began, in PostgreSQL's own
 * types: BIGINT milliseconds, BOOLEAN flags, BYTEA sealed values, BIGSERIAL ids. A change to the schema appends an
 * entry to both lists; never edit one that has shipped.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    -- SQLite's rowid stands for this there: a small number per user, picking the host user their builds run as.
    serial     BIGSERIAL NOT NULL UNIQUE,
    name       TEXT NOT NULL UNIQUE,
    is_admin   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
  );

  -- Only a SHA-256 of each token is kept: tokens are 256-bit random, so a fast hash is enough.
  CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT,
    UNIQUE (user_id, name)
  );

  CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Each project's key, sealed like environment variables, given to its micros' instances.
    key_sealed BYTEA,
    UNIQUE (owner_id, name)
  );

  CREATE TABLE micros (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    subdomain          TEXT NOT NULL UNIQUE,
    runtime            TEXT NOT NULL,
    current_release_id TEXT,
    http_auth          BOOLEAN NOT NULL DEFAULT FALSE,
    visor              BOOLEAN NOT NULL DEFAULT FALSE,
    -- A micro's own limits; NULL means the server's default.
    memory_bytes       BIGINT,
    timeout_ms         BIGINT,
    request_body_bytes BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (project_id, name)
  );

  CREATE TABLE releases (
    id         TEXT PRIMARY KEY,
    micro_id   TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    code_bytes BIGINT NOT NULL,
    file_count INTEGER NOT NULL,
    install    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (micro_id, version)
  );

  -- Values are sealed with the server's secret key (AES-256-GCM) before they reach this table.
  CREATE TABLE env_vars (
    micro_id TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    BYTEA NOT NULL,
    PRIMARY KEY (micro_id, key)
  );

  CREATE TABLE logs (
    id          BIGSERIAL PRIMARY KEY,
    micro_id    TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    ts          BIGINT NOT NULL,
    source      TEXT NOT NULL,
    instance_id TEXT,
    message     TEXT NOT NULL
  );
  CREATE INDEX logs_by_micro ON logs (micro_id, id);

  -- Keys that open a private micro; only a hash of each is kept.
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    micro_id    TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    prefix      TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    UNIQUE (micro_id, name)
  );

  -- One schedule per micro; next_run_at is when it fires next (ms since the epoch, UTC).
  CREATE TABLE schedules (
    micro_id    TEXT PRIMARY KEY REFERENCES micros(id) ON DELETE CASCADE,
    expression  TEXT NOT NULL,
    next_run_at BIGINT NOT NULL,
    last_run_at BIGINT
  );

  -- The visor: one row per request through the gateway. Bodies only when the micro records them.
  CREATE TABLE requests (
    id              BIGSERIAL PRIMARY KEY,
    micro_id        TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    ts              BIGINT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    status          INTEGER NOT NULL,
    duration_ms     DOUBLE PRECISION NOT NULL,
    request_bytes   BIGINT NOT NULL,
    response_bytes  BIGINT NOT NULL,
    instance_id     TEXT,
    cold            BOOLEAN NOT NULL,
    -- Where a request's time went (first byte, a cold start's phases), as JSON.
    timings         TEXT,
    request_headers TEXT,
    request_body    BYTEA,
    response_body   BYTEA,
    -- The client's address as the gateway resolved it (through trusted proxies).
    client          TEXT
  );
  CREATE INDEX requests_by_micro ON requests (micro_id, id);
  CREATE INDEX requests_by_micro_time ON requests (micro_id, ts, status);

  -- Custom domains: a host name served by one micro, as its subdomain is. Unique across the platform.
  CREATE TABLE domains (
    host       TEXT PRIMARY KEY,
    micro_id   TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX domains_by_micro ON domains (micro_id);
  `,
  // Every server caches the gateway's lookups; a write to micros or domains by any of them (a cascade included)
  // tells all of them, once per statement, on commit.
  `
  CREATE FUNCTION micros_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('micros_changes', TG_TABLE_NAME);
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER micros_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON micros
    FOR EACH STATEMENT EXECUTE FUNCTION micros_notify_change();
  CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON domains
    FOR EACH STATEMENT EXECUTE FUNCTION micros_notify_change();
  `,
  // Nodes: the servers sharing this database. heartbeat_at is the database's own clock, so nodes whose clocks
  // disagree still agree on who is live. The sealing key all nodes use, wrapped under the cluster secret. A
  // project's key changed or gone tells every node to forget the one it holds.
  `
  CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    capacity     INTEGER NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
  );
  CREATE TABLE cluster_keys (
    name       TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
  );
  CREATE FUNCTION micros_notify_project_key() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_notify('micros_events', json_build_object('kind', 'project-key', 'project', OLD.id)::text);
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER project_key_changed AFTER UPDATE OF key_sealed OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION micros_notify_project_key();
  `,
  // Shared blobs (src/server/blobs/): bytes every node can read, named by their SHA-256, in chunks of about a
  // megabyte so that neither a write nor a read holds a whole file. A release's code and dependencies, packed, are
  // one, named by the release's row, so a node that did not build a release can fetch it.
  `
  CREATE TABLE blobs (
    hash        TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    -- When the bytes were last stored (or found stored): a blob nothing names yet is kept for a while after.
    last_put_at BIGINT NOT NULL
  );
  CREATE TABLE blob_chunks (
    hash TEXT NOT NULL REFERENCES blobs(hash) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (hash, seq)
  );
  -- Packed releases are compressed already, and much of what else is stored will be: not compressed again.
  ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

  ALTER TABLE releases ADD COLUMN content_hash TEXT REFERENCES blobs(hash);
  CREATE INDEX releases_by_content_hash ON releases (content_hash);
  `,
  // Deta Base and Drive, shared by every server on the database (SQLite keeps them in <data-dir>/data.db and
  // <data-dir>/drive). Drive's file bytes are shared blobs, which the entry before this one made.
  `
  -- A base belongs to a project and is created by its first write.
  CREATE TABLE bases (
    id         BIGSERIAL PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
  );
  -- Items in key order: the key is its UTF-8 bytes, which order (and may hold NUL) as SQLite's BINARY text does.
  -- value is the item as JSON.stringify wrote it, returned as it is; expires its __expires (Unix seconds).
  CREATE TABLE base_items (
    base_id BIGINT NOT NULL REFERENCES bases(id) ON DELETE CASCADE,
    key     BYTEA NOT NULL,
    value   TEXT NOT NULL,
    expires DOUBLE PRECISION,
    PRIMARY KEY (base_id, key)
  );
  CREATE INDEX base_items_by_expiry ON base_items (expires) WHERE expires IS NOT NULL;

  -- A drive belongs to a project and is created by its first upload.
  CREATE TABLE drives (
    id         BIGSERIAL PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
  );
  -- A file's bytes are the shared blob of that SHA-256; names order by their bytes (collation "C").
  CREATE TABLE drive_files (
    drive_id     BIGINT NOT NULL REFERENCES drives(id) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    hash         TEXT NOT NULL REFERENCES blobs(hash),
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (drive_id, name)
  );
  -- The blobs' sweep asks whether anything names a hash.
  CREATE INDEX drive_files_by_hash ON drive_files (hash);
  -- Chunked uploads under way, their parts in the database so that any server may take any part.
  CREATE TABLE drive_uploads (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    drive        TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT,
    bytes        BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
  );
  CREATE INDEX drive_uploads_by_project ON drive_uploads (project_id);
  CREATE INDEX drive_uploads_by_age ON drive_uploads (created_at);
  CREATE TABLE drive_upload_parts (
    upload_id TEXT NOT NULL REFERENCES drive_uploads(id) ON DELETE CASCADE,
    part      INTEGER NOT NULL,
    data      BYTEA NOT NULL,
    PRIMARY KEY (upload_id, part)
  );
  -- Parts are read back whole, once: not compressed on the way in.
  ALTER TABLE drive_upload_parts ALTER COLUMN data SET STORAGE EXTERNAL;
  `,
];
