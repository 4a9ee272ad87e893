import { newId } from "../ids.js";
import { type Project, type ProjectRow, type Projects, projectNameTaken, toProject } from "../projects.js";
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class PgProjects implements Projects {
  constructor(private readonly db: PgDb) {}

  async list(ownerId: string): Promise<Project[]> {
    const rows = await this.db.rows<ProjectRow>("SELECT * FROM projects WHERE owner_id = $1 ORDER BY name", [ownerId]);
    return rows.map(toProject);
  }

  async byName(ownerId: string, name: string): Promise<Project | undefined> {
    const row = await this.db.row<ProjectRow>("SELECT * FROM projects WHERE owner_id = $1 AND name = $2", [
      ownerId,
      name,
    ]);
    return row && toProject(row);
  }

  async byId(id: string): Promise<Project | undefined> {
    const row = await this.db.row<ProjectRow>("SELECT * FROM projects WHERE id = $1", [id]);
    return row && toProject(row);
  }

  async create(ownerId: string, name: string): Promise<Project> {
    const project = { id: newId(), ownerId, name, createdAt: Date.now() };
    try {
      await this.db.run("INSERT INTO projects (id, owner_id, name, created_at) VALUES ($1, $2, $3, $4)", [
        project.id,
        ownerId,
        name,
        project.createdAt,
      ]);
    } catch (err) {
      throw isUniqueViolation(err) ? projectNameTaken(name, err) : err;
    }
    return project;
  }

  async sealedKey(id: string): Promise<Buffer | null> {
    const row = await this.db.row<{ key_sealed: Buffer | null }>("SELECT key_sealed FROM projects WHERE id = $1", [id]);
    return row?.key_sealed ?? null;
  }

  async setSealedKey(id: string, sealed: Buffer): Promise<void> {
    await this.db.run("UPDATE projects SET key_sealed = $1 WHERE id = $2", [sealed, id]);
  }

  /**
   * One statement, so two requests ensuring the same project at once both get the one row: the no-op update on a
   * conflict is what makes RETURNING give the existing row.
   */
  async ensure(ownerId: string, name: string): Promise<Project> {
    const rows = await this.db.rows<ProjectRow>(
      `INSERT INTO projects (id, owner_id, name, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (owner_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING *`,
      [newId(), ownerId, name, Date.now()],
    );
    return rows.map(toProject)[0] as Project;
  }
}
