import { newId } from "../ids.js";
import { type Project, type ProjectRow, type Projects, projectNameTaken, toProject } from "../projects.js";
import type { Db } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class SqliteProjects implements Projects {
  constructor(private readonly db: Db) {}

  async list(ownerId: string): Promise<Project[]> {
    const rows = this.db
      .prepare("SELECT * FROM projects WHERE owner_id = ? ORDER BY name")
      .all(ownerId) as ProjectRow[];
    return rows.map(toProject);
  }

  async byName(ownerId: string, name: string): Promise<Project | undefined> {
    return this.byNameNow(ownerId, name);
  }

  async byId(id: string): Promise<Project | undefined> {
    const row = this.db.prepare("SELECT * FROM projects WHERE id = ?").get(id) as ProjectRow | undefined;
    return row && toProject(row);
  }

  async create(ownerId: string, name: string): Promise<Project> {
    return this.createNow(ownerId, name);
  }

  async sealedKey(id: string): Promise<Buffer | null> {
    const row = this.db.prepare("SELECT key_sealed FROM projects WHERE id = ?").get(id) as
      | { key_sealed: Buffer | null }
      | undefined;
    return row?.key_sealed ?? null;
  }

  async setSealedKey(id: string, sealed: Buffer): Promise<void> {
    this.db.prepare("UPDATE projects SET key_sealed = ? WHERE id = ?").run(sealed, id);
  }

  /** Synchronous underneath, so nothing can create the project between the look and the insert. */
  async ensure(ownerId: string, name: string): Promise<Project> {
    return this.byNameNow(ownerId, name) ?? this.createNow(ownerId, name);
  }

  private byNameNow(ownerId: string, name: string): Project | undefined {
    const row = this.db.prepare("SELECT * FROM projects WHERE owner_id = ? AND name = ?").get(ownerId, name) as
      | ProjectRow
      | undefined;
    return row && toProject(row);
  }

  private createNow(ownerId: string, name: string): Project {
    const project = { id: newId(), ownerId, name, createdAt: Date.now() };
    try {
      this.db
        .prepare("INSERT INTO projects (id, owner_id, name, created_at) VALUES (?, ?, ?, ?)")
        .run(project.id, ownerId, name, project.createdAt);
    } catch (err) {
      throw isUniqueViolation(err) ? projectNameTaken(name, err) : err;
    }
    return project;
  }
}
