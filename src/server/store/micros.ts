import { type LimitOverrides, NO_OVERRIDES } from "../limits.js";
import type { Db } from "./database.js";
import { newId } from "./ids.js";

export interface Micro {
  id: string;
  projectId: string;
  name: string;
  subdomain: string;
  runtime: string;
  currentReleaseId: string | null;
  httpAuth: boolean;
  /** Whether the visor records request and response bodies. */
  visor: boolean;
  limits: LimitOverrides;
  createdAt: number;
}

interface MicroRow {
  id: string;
  project_id: string;
  name: string;
  subdomain: string;
  runtime: string;
  current_release_id: string | null;
  http_auth: number;
  visor: number;
  memory_bytes: number | null;
  timeout_ms: number | null;
  request_body_bytes: number | null;
  created_at: number;
}

function toMicro(row: MicroRow): Micro {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    subdomain: row.subdomain,
    runtime: row.runtime,
    currentReleaseId: row.current_release_id,
    httpAuth: row.http_auth === 1,
    visor: row.visor === 1,
    limits: { memoryBytes: row.memory_bytes, timeoutMs: row.timeout_ms, requestBodyBytes: row.request_body_bytes },
    createdAt: row.created_at,
  };
}

export class Micros {
  private readonly bySubdomainStmt;
  /**
   * The gateway looks a micro up on every request, and the query was the largest part of its own work in a profile.
   * Kept until any row of the table changes, by whatever statement (cascades included): a trigger empties it.
   */
  private readonly bySubdomainCache = new Map<string, Micro>();

  constructor(private readonly db: Db) {
    this.bySubdomainStmt = db.prepare("SELECT * FROM micros WHERE subdomain = ?");
    db.function("micros_changed", () => {
      this.bySubdomainCache.clear();
      return null;
    });
    for (const event of ["INSERT", "UPDATE", "DELETE"]) {
      db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS micros_${event.toLowerCase()} AFTER ${event} ON main.micros
               BEGIN SELECT micros_changed(); END`);
    }
  }

  /**
   * Creates a micro. Its subdomain is its name when that is free server-wide
   * (names are only unique within a project), otherwise the name plus a short
   * random suffix; it never changes afterwards.
   */
  create(input: { projectId: string; name: string; runtime: string }): Micro {
    return this.db.transaction(() => {
      let subdomain = input.name;
      while (this.bySubdomain(subdomain)) subdomain = `${input.name.slice(0, 56)}-${newId(6)}`;
      const now = Date.now();
      const micro: Micro = {
        id: newId(),
        projectId: input.projectId,
        name: input.name,
        subdomain,
        runtime: input.runtime,
        currentReleaseId: null,
        httpAuth: false,
        visor: false,
        limits: NO_OVERRIDES,
        createdAt: now,
      };
      this.db
        .prepare(
          `INSERT INTO micros (id, project_id, name, subdomain, runtime, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(micro.id, micro.projectId, micro.name, micro.subdomain, micro.runtime, now, now);
      return micro;
    })();
  }

  byId(id: string): Micro | undefined {
    const row = this.db.prepare("SELECT * FROM micros WHERE id = ?").get(id) as MicroRow | undefined;
    return row && toMicro(row);
  }

  byName(projectId: string, name: string): Micro | undefined {
    const row = this.db.prepare("SELECT * FROM micros WHERE project_id = ? AND name = ?").get(projectId, name) as
      | MicroRow
      | undefined;
    return row && toMicro(row);
  }

  /** The micro at a subdomain; the same frozen object until the micros table changes. */
  bySubdomain(subdomain: string): Readonly<Micro> | undefined {
    const cached = this.bySubdomainCache.get(subdomain);
    if (cached) return cached;
    const row = this.bySubdomainStmt.get(subdomain) as MicroRow | undefined;
    if (!row) return undefined;
    const micro = toMicro(row);
    Object.freeze(micro.limits);
    // Inside a transaction the row may yet be rolled back: read it, but do not keep it.
    if (!this.db.inTransaction) this.bySubdomainCache.set(subdomain, Object.freeze(micro));
    return micro;
  }

  listByOwner(ownerId: string, projectId?: string): Micro[] {
    const rows = this.db
      .prepare(
        `SELECT micros.* FROM micros JOIN projects ON projects.id = micros.project_id
         WHERE projects.owner_id = ? AND (? IS NULL OR micros.project_id = ?)
         ORDER BY micros.name`,
      )
      .all(ownerId, projectId ?? null, projectId ?? null) as MicroRow[];
    return rows.map(toMicro);
  }

  /** Deletes the micro and, by cascade, its releases, variables and logs. */
  delete(id: string): void {
    this.db.prepare("DELETE FROM micros WHERE id = ?").run(id);
  }

  setVisor(id: string, enabled: boolean): void {
    this.db.prepare("UPDATE micros SET visor = ?, updated_at = ? WHERE id = ?").run(enabled ? 1 : 0, Date.now(), id);
  }

  setHttpAuth(id: string, enabled: boolean): void {
    this.db
      .prepare("UPDATE micros SET http_auth = ?, updated_at = ? WHERE id = ?")
      .run(enabled ? 1 : 0, Date.now(), id);
  }

  rename(id: string, name: string): void {
    this.db.prepare("UPDATE micros SET name = ?, updated_at = ? WHERE id = ?").run(name, Date.now(), id);
  }

  setRuntime(id: string, runtime: string): void {
    this.db.prepare("UPDATE micros SET runtime = ?, updated_at = ? WHERE id = ?").run(runtime, Date.now(), id);
  }

  setLimits(id: string, limits: LimitOverrides): void {
    this.db
      .prepare(
        "UPDATE micros SET memory_bytes = ?, timeout_ms = ?, request_body_bytes = ?, updated_at = ? WHERE id = ?",
      )
      .run(limits.memoryBytes, limits.timeoutMs, limits.requestBodyBytes, Date.now(), id);
  }
}
