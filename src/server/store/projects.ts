import { MicrosError } from "../../shared/errors.js";

export interface Project {
  id: string;
  ownerId: string;
  name: string;
  createdAt: number;
}

export interface ProjectRow {
  id: string;
  owner_id: string;
  name: string;
  created_at: number;
}

export function toProject(row: ProjectRow): Project {
  return { id: row.id, ownerId: row.owner_id, name: row.name, createdAt: row.created_at };
}

export function projectNameTaken(name: string, cause?: unknown): MicrosError {
  return new MicrosError("ERR_NAME_TAKEN", `You already have a project named ${name}.`, { cause });
}

export interface Projects {
  list(ownerId: string): Promise<Project[]>;
  byName(ownerId: string, name: string): Promise<Project | undefined>;
  byId(id: string): Promise<Project | undefined>;
  create(ownerId: string, name: string): Promise<Project>;
  sealedKey(id: string): Promise<Buffer | null>;
  setSealedKey(id: string, sealed: Buffer): Promise<void>;
  /** The project named `name`, created on first use (as Deta's `default` project was). */
  ensure(ownerId: string, name: string): Promise<Project>;
}
