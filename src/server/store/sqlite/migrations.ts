/**
 * Schema migrations, applied in order and recorded in SQLite's `user_version`.
 * Append new entries; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    is_admin   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );

  -- Only a SHA-256 of each token is kept: tokens are 256-bit random, so a fast hash is enough.
  CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
  );

  CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (owner_id, name)
  );

  CREATE TABLE micros (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    subdomain          TEXT NOT NULL UNIQUE,
    runtime            TEXT NOT NULL,
    current_release_id TEXT,
    http_auth          INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (project_id, name)
  );

  CREATE TABLE releases (
    id         TEXT PRIMARY KEY,
    micro_id   TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    code_bytes INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    install    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (micro_id, version)
  );

  -- Values are sealed with the server's secret key (AES-256-GCM) before they reach this table.
  CREATE TABLE env_vars (
    micro_id TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    BLOB NOT NULL,
    PRIMARY KEY (micro_id, key)
  );

  CREATE TABLE logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    micro_id    TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    source      TEXT NOT NULL,
    instance_id TEXT,
    message     TEXT NOT NULL
  );
  CREATE INDEX logs_by_micro ON logs (micro_id, id);
  `,
  `
  -- Each micro runs as its own unprivileged host user.
  ALTER TABLE micros ADD COLUMN uid INTEGER;
  UPDATE micros SET uid = 100000 + rowid;
  CREATE UNIQUE INDEX micros_by_uid ON micros (uid);
  `,
  `
  -- A micro's own limits; NULL means the server's default.
  ALTER TABLE micros ADD COLUMN memory_bytes INTEGER;
  ALTER TABLE micros ADD COLUMN timeout_ms INTEGER;
  ALTER TABLE micros ADD COLUMN request_body_bytes INTEGER;
  `,
  `
  -- Keys that open a private micro; only a hash of each is kept.
  CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    micro_id    TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    prefix      TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    UNIQUE (micro_id, name)
  );
  `,
  `
  -- Each project's key (sealed like environment variables), given to its micros' instances.
  ALTER TABLE projects ADD COLUMN key_sealed BLOB;
  `,
  `
  -- One schedule per micro; next_run_at is when it fires next (ms since the epoch, UTC).
  CREATE TABLE schedules (
    micro_id    TEXT PRIMARY KEY REFERENCES micros(id) ON DELETE CASCADE,
    expression  TEXT NOT NULL,
    next_run_at INTEGER NOT NULL,
    last_run_at INTEGER
  );
  `,
  `
  -- The visor: one row per request through the gateway. Bodies only when the micro records them.
  CREATE TABLE requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    micro_id       TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    ts             INTEGER NOT NULL,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    status         INTEGER NOT NULL,
    duration_ms    REAL NOT NULL,
    request_bytes  INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    instance_id    TEXT,
    cold           INTEGER NOT NULL,
    request_headers TEXT,
    request_body   BLOB,
    response_body  BLOB
  );
  CREATE INDEX requests_by_micro ON requests (micro_id, id);
  ALTER TABLE micros ADD COLUMN visor INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Host users now belong to sandboxes, one per instance, rather than to micros.
  DROP INDEX micros_by_uid;
  ALTER TABLE micros DROP COLUMN uid;
  `,
  `
  -- Tokens may expire (ms since the epoch; NULL: never). A token's name is unique per user, so one can be revoked
  -- by name. The API never gave one user two tokens of one name; should a database hold some, they get their id
  -- added rather than stopping the upgrade.
  ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
  UPDATE tokens SET name = name || '-' || id
    WHERE rowid NOT IN (SELECT MIN(rowid) FROM tokens GROUP BY user_id, name);
  CREATE UNIQUE INDEX tokens_by_user_name ON tokens (user_id, name);
  `,
  `
  -- Custom domains: a host name served by one micro, as its subdomain is. Unique across the platform.
  CREATE TABLE domains (
    host       TEXT PRIMARY KEY,
    micro_id   TEXT NOT NULL REFERENCES micros(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX domains_by_micro ON domains (micro_id);
  -- The client's address as the gateway resolved it (through trusted proxies), for the visor.
  ALTER TABLE requests ADD COLUMN client TEXT;
  `,
  `
  -- Where a request's time went (first byte, a cold start's phases), as JSON.
  ALTER TABLE requests ADD COLUMN timings TEXT;
  `,
  `
  -- The dashboard's requests and errors of the last hour per micro, counted from the index alone.
  CREATE INDEX requests_by_micro_time ON requests (micro_id, ts, status);
  `,
];
