import type { Store } from "../store.js";
import { SqliteApiKeys } from "./api-keys.js";
import { type Db, openDatabase } from "./database.js";
import { SqliteDomains } from "./domains.js";
import { SqliteEnvVars } from "./env-vars.js";
import { SqliteLogs } from "./logs.js";
import { SqliteMicros } from "./micros.js";
import { SqliteProjects } from "./projects.js";
import { SqliteReleases } from "./releases.js";
import { SqliteRequests } from "./requests.js";
import { SqliteSchedules } from "./schedules.js";
import { SqliteUsers } from "./users.js";

/**
 * The embedded store: one SQLite file. better-sqlite3 is synchronous, and each method does its work before its
 * promise exists, so transactions stay the plain SQLite transactions they were and the only cost is a microtask.
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly users: SqliteUsers;
  readonly projects: SqliteProjects;
  readonly micros: SqliteMicros;
  readonly releases: SqliteReleases;
  readonly logs: SqliteLogs;
  readonly envVars: SqliteEnvVars;
  readonly apiKeys: SqliteApiKeys;
  readonly schedules: SqliteSchedules;
  readonly requests: SqliteRequests;
  readonly domains: SqliteDomains;

  private constructor(private readonly db: Db) {
    this.users = new SqliteUsers(db);
    this.projects = new SqliteProjects(db);
    this.micros = new SqliteMicros(db);
    this.releases = new SqliteReleases(db);
    this.logs = new SqliteLogs(db);
    this.envVars = new SqliteEnvVars(db);
    this.apiKeys = new SqliteApiKeys(db);
    this.schedules = new SqliteSchedules(db);
    this.requests = new SqliteRequests(db);
    this.domains = new SqliteDomains(db);
  }

  static open(file: string): SqliteStore {
    return new SqliteStore(openDatabase(file));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
