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
];
