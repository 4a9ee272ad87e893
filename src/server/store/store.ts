import { type Db, openDatabase } from "./database.js";
import { Logs } from "./logs.js";
import { Micros } from "./micros.js";
import { Projects } from "./projects.js";
import { Releases } from "./releases.js";
import { Users } from "./users.js";

/** The platform's state: one SQLite file, one repository per table family. */
export class Store {
  readonly users: Users;
  readonly projects: Projects;
  readonly micros: Micros;
  readonly releases: Releases;
  readonly logs: Logs;

  private constructor(private readonly db: Db) {
    this.users = new Users(db);
    this.projects = new Projects(db);
    this.micros = new Micros(db);
    this.releases = new Releases(db);
    this.logs = new Logs(db);
  }

  static open(file: string): Store {
    return new Store(openDatabase(file));
  }

  /** Names of a micro's environment variables; values never leave the store this way. */
  envNames(microId: string): string[] {
    const rows = this.db.prepare("SELECT key FROM env_vars WHERE micro_id = ? ORDER BY key").all(microId) as {
      key: string;
    }[];
    return rows.map((row) => row.key);
  }

  close(): void {
    this.db.close();
  }
}
