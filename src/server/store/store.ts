import { ApiKeys } from "./api-keys.js";
import { type Db, openDatabase } from "./database.js";
import { Domains } from "./domains.js";
import { EnvVars } from "./env-vars.js";
import { Logs } from "./logs.js";
import { Micros } from "./micros.js";
import { Projects } from "./projects.js";
import { Releases } from "./releases.js";
import { Requests } from "./requests.js";
import { Schedules } from "./schedules.js";
import { Users } from "./users.js";

/** The platform's state: one SQLite file, one repository per table family. */
export class Store {
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

  private constructor(private readonly db: Db) {
    this.users = new Users(db);
    this.projects = new Projects(db);
    this.micros = new Micros(db);
    this.releases = new Releases(db);
    this.logs = new Logs(db);
    this.envVars = new EnvVars(db);
    this.apiKeys = new ApiKeys(db);
    this.schedules = new Schedules(db);
    this.requests = new Requests(db);
    this.domains = new Domains(db);
  }

  static open(file: string): Store {
    return new Store(openDatabase(file));
  }

  close(): void {
    this.db.close();
  }
}
