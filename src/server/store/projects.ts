import type { Db } from "./database.js";
import { newId } from "./ids.js";

export interface Project {
  id: string;
  ownerId: string;
  name: string;
  createdAt: number;
}

interface ProjectRow {
  id: string;
  owner_id: string;
  name: string;
  created_at: number;
}

function toProject(row: ProjectRow): Project {
  return { id: row.id, ownerId: row.owner_id, name: row.name, createdAt: row.created_at };
}

export class Projects {
  constructor(private readonly db: Db) {}

  list(ownerId: string): Project[] {
    const rows = this.db
      .prepare("SELECT * FROM projects WHERE owner_id = ? ORDER BY name")
      .all(ownerId) as ProjectRow[];
    return rows.map(toProject);
  }

  byName(ownerId: string, name: string): Project | undefined {
    const row = this.db.prepare("SELECT * FROM projects WHERE owner_id = ? AND name = ?").get(ownerId, name) as
      | ProjectRow
      | undefined;
    return row && toProject(row);
  }

  byId(id: string): Project | undefined {
    const row = this.db.prepare("SELECT * FROM projects WHERE id = ?").get(id) as ProjectRow | undefined;
    return row && toProject(row);
  }

  create(ownerId: string, name: string): Project {
    const project = { id: newId(), ownerId, name, createdAt: Date.now() };
    this.db
      .prepare("INSERT INTO projects (id, owner_id, name, created_at) VALUES (?, ?, ?, ?)")
      .run(project.id, ownerId, name, project.createdAt);
    return project;
  }

  sealedKey(id: string): Buffer | null {
    const row = this.db.prepare("SELECT key_sealed FROM projects WHERE id = ?").get(id) as
      | { key_sealed: Buffer | null }
      | undefined;
    return row?.key_sealed ?? null;
  }

  setSealedKey(id: string, sealed: Buffer): void {
    this.db.prepare("UPDATE projects SET key_sealed = ? WHERE id = ?").run(sealed, id);
  }

  /** The project named `name`, created on first use (as Deta's `default` project was). */
  ensure(ownerId: string, name: string): Project {
    return this.byName(ownerId, name) ?? this.create(ownerId, name);
  }
}
