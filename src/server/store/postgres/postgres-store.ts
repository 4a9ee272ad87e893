import { MicrosError } from "../../../shared/errors.js";
import { redactUrl } from "../database-url.js";
import type { SharedState } from "../nodes.js";
import type { Store } from "../store.js";
import { PgApiKeys } from "./api-keys.js";
import { ChangeFeed, Changes, EVENTS_CHANNEL, type EventListener } from "./changes.js";
import { PgDb } from "./database.js";
import { PgDomains } from "./domains.js";
import { PgEnvVars } from "./env-vars.js";
import { PgLogs } from "./logs.js";
import { PgMicros } from "./micros.js";
import { PgNodes } from "./nodes.js";
import { PgProjects } from "./projects.js";
import { PgReleases } from "./releases.js";
import { PgRequests } from "./requests.js";
import { PgSchedules } from "./schedules.js";
import { PgUsers } from "./users.js";

/** The shared store: a PostgreSQL database reached through a pool, migrated when opened. */
export class PostgresStore implements Store, SharedState {
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
  readonly nodes: PgNodes;
  readonly shared = this;

  private constructor(
    /** The pool itself, for what keeps its own tables beside the store's (shared blobs). */
    readonly db: PgDb,
    private readonly feed: ChangeFeed,
    private readonly changes: Changes,
  ) {
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
    this.nodes = new PgNodes(db);
  }

  async publish(payload: string): Promise<void> {
    await this.db.run("SELECT pg_notify($1, $2)", [EVENTS_CHANNEL, payload]);
  }

  subscribe(listener: EventListener): () => void {
    return this.changes.onEvent(listener);
  }

  static async open(url: string): Promise<PostgresStore> {
    const db = await PgDb.open(url);
    const changes = new Changes();
    try {
      return new PostgresStore(db, await ChangeFeed.start(url, changes), changes);
    } catch (err) {
      await db.close();
      throw new MicrosError(
        "ERR_DATABASE_UNUSABLE",
        `Cannot listen for changes on the PostgreSQL database at ${redactUrl(url)}: ${(err as Error).message}.`,
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.db.close();
  }
}
