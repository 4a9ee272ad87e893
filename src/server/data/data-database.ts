import { chmodSync } from "node:fs";
import Database from "better-sqlite3";

export type DataDb = Database.Database;

/**
 * The tenants' data (Base items, Drive file records) lives in a database of its own, `<data-dir>/data.db`, not in
 * the platform's `micros.db`: SQLite takes one writer per file, so apps writing their data never wait on the
 * gateway's and the deployer's writes (nor those on theirs); the platform's file stays small to back up and migrate;
 * and the data can move to another disk, or another store, without touching the platform's state. Its schema is
 * versioned here, by the file's own `user_version`, in the same way as `store/migrations.ts`.
 */
const SCHEMA = [
  `
  -- A base belongs to a project and is created by its first write.
  CREATE TABLE bases (
    id         INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
  );
  -- Items in key order (the primary key): gets, key ranges, prefixes and paging read the index. value is the whole
  -- item as JSON; expires is its __expires (Unix seconds) when it has one.
  CREATE TABLE items (
    base_id INTEGER NOT NULL REFERENCES bases(id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    expires REAL,
    PRIMARY KEY (base_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX items_by_expiry ON items (expires) WHERE expires IS NOT NULL;

  -- A drive belongs to a project and is created by its first upload.
  CREATE TABLE drives (
    id         INTEGER PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, name)
  );
  -- A file's content is the blob <data-dir>/drive/<project>/<blob>, written whole before its row points at it.
  CREATE TABLE files (
    drive_id     INTEGER NOT NULL REFERENCES drives(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    blob         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (drive_id, name)
  ) WITHOUT ROWID;
  -- Chunked uploads under way; their parts are files in <data-dir>/drive/uploads/<id>/.
  CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL,
    drive        TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT,
    bytes        INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
  );
  `,
];

export function openDataDatabase(file: string): DataDb {
  const db = new Database(file);
  chmodSync(file, 0o600);
  // WAL: queries read while a write commits; NORMAL sync is durable across app crashes (as micros.db).
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > SCHEMA.length) {
    db.close();
    throw new Error(
      `The data database (version ${current}) is newer than this server knows (${SCHEMA.length}); upgrade micros.`,
    );
  }
  for (let version = current; version < SCHEMA.length; version++) {
    db.transaction(() => {
      db.exec(SCHEMA[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return db;
}
