import { join } from "node:path";
import type { ApiKeys } from "./api-keys.js";
import { isPostgresUrl } from "./database-url.js";
import type { Domains } from "./domains.js";
import type { EnvVars } from "./env-vars.js";
import type { Logs } from "./logs.js";
import type { Micros } from "./micros.js";
import type { SharedState } from "./nodes.js";
import type { Projects } from "./projects.js";
import type { Releases } from "./releases.js";
import type { Requests } from "./requests.js";
import type { Schedules } from "./schedules.js";
import type { Users } from "./users.js";

/**
 * The platform's state, one repository per table family. Every method is asynchronous so that SQLite (embedded, the
 * default) and PostgreSQL (shared, chosen with --database) stand behind the same calls; the contract suite in
 * test/unit/store-contract.test.ts holds both to the same behaviour.
 */
export interface Store {
  /** Which implementation this is, for the operator's log. */
  readonly kind: "sqlite" | "postgres";
  readonly users: Users;
  readonly projects: Projects;
  readonly micros: Micros;
  readonly releases: Releases;
  readonly logs: Logs;
  readonly envVars: EnvVars;
  readonly apiKeys: ApiKeys;
  readonly schedules: Schedules;
  readonly requests: Requests;
  readonly domains: Domains;
  /** What the nodes of a cluster share: PostgreSQL's alone, since one SQLite file serves one server. */
  readonly shared?: SharedState;
  close(): Promise<void>;
}

/**
 * The store the settings choose: PostgreSQL for a `postgres://` or `postgresql://` URL, otherwise SQLite in
 * `micros.db` of the data directory. Each implementation is imported only when chosen, so a SQLite server never
 * loads `pg`.
 */
export async function openStore(options: { database: string; dataDir: string }): Promise<Store> {
  if (isPostgresUrl(options.database)) {
    const { PostgresStore } = await import("./postgres/postgres-store.js");
    return PostgresStore.open(options.database);
  }
  const { SqliteStore } = await import("./sqlite/sqlite-store.js");
  return SqliteStore.open(join(options.dataDir, "micros.db"));
}
