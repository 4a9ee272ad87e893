import type { Store } from "../store.js";
import { PgApiKeys } from "./api-keys.js";
import { Changes } from "./changes.js";
import { PgDb } from "./database.js";
import { PgDomains } from "./domains.js";
import { PgEnvVars } from "./env-vars.js";
import { PgLogs } from "./logs.js";
import { PgMicros } from "./micros.js";
import { PgProjects } from "./projects.js";
import { PgReleases } from "./releases.js";
import { PgRequests } from "./requests.js";
import { PgSchedules } from "./schedules.js";
import { PgUsers } from "./users.js";

/** The shared store: a PostgreSQL database reached through a pool, migrated when opened. */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly users: PgUsers;
  readonly projects: PgProjects;
  readonly micros: PgMicros;
  readonly releases: PgReleases;
  readonly logs: PgLogs;
  readonly envVars: PgEnvVars;
  readonly apiKeys: PgApiKeys;
  readonly schedules: PgSchedules;
  readonly requests: PgRequests;
  readonly domains: PgDomains;

  private constructor(private readonly db: PgDb) {
    const changes = new Changes();
    this.users = new PgUsers(db, changes);
    this.projects = new PgProjects(db);
    this.micros = new PgMicros(db, changes);
    this.releases = new PgReleases(db, changes);
    this.logs = new PgLogs(db);
    this.envVars = new PgEnvVars(db);
    this.apiKeys = new PgApiKeys(db);
    this.schedules = new PgSchedules(db);
    this.requests = new PgRequests(db);
    this.domains = new PgDomains(db, changes);
  }

  static async open(url: string): Promise<PostgresStore> {
    return new PostgresStore(await PgDb.open(url));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
