import { type LimitOverrides, NO_OVERRIDES } from "../../limits.js";
import { newId } from "../ids.js";
import { type Micro, type MicroRow, type Micros, microNameTaken, suffixedSubdomain, toMicro } from "../micros.js";
import type { Db } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class SqliteMicros implements Micros {
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

  async create(input: { projectId: string; name: string; runtime: string }): Promise<Micro> {
    try {
      return this.db.transaction(() => {
        let subdomain = input.name;
        while (this.bySubdomainNow(subdomain)) subdomain = suffixedSubdomain(input.name, newId(6));
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
    } catch (err) {
      throw isUniqueViolation(err) ? microNameTaken(input.name, err) : err;
    }
  }

  async byId(id: string): Promise<Micro | undefined> {
    const row = this.db.prepare("SELECT * FROM micros WHERE id = ?").get(id) as MicroRow | undefined;
    return row && toMicro(row);
  }

  async byName(projectId: string, name: string): Promise<Micro | undefined> {
    const row = this.db.prepare("SELECT * FROM micros WHERE project_id = ? AND name = ?").get(projectId, name) as
      | MicroRow
      | undefined;
    return row && toMicro(row);
  }

  async bySubdomain(subdomain: string): Promise<Readonly<Micro> | undefined> {
    return this.bySubdomainNow(subdomain);
  }

  private bySubdomainNow(subdomain: string): Readonly<Micro> | undefined {
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

  async listByOwner(ownerId: string, projectId?: string): Promise<Micro[]> {
    const rows = this.db
      .prepare(
        `SELECT micros.* FROM micros JOIN projects ON projects.id = micros.project_id
         WHERE projects.owner_id = ? AND (? IS NULL OR micros.project_id = ?)
         ORDER BY micros.name`,
      )
      .all(ownerId, projectId ?? null, projectId ?? null) as MicroRow[];
    return rows.map(toMicro);
  }

  async delete(id: string): Promise<void> {
    this.db.prepare("DELETE FROM micros WHERE id = ?").run(id);
  }

  async setVisor(id: string, enabled: boolean): Promise<void> {
    this.db.prepare("UPDATE micros SET visor = ?, updated_at = ? WHERE id = ?").run(enabled ? 1 : 0, Date.now(), id);
  }

  async setHttpAuth(id: string, enabled: boolean): Promise<void> {
    this.db
      .prepare("UPDATE micros SET http_auth = ?, updated_at = ? WHERE id = ?")
      .run(enabled ? 1 : 0, Date.now(), id);
  }

  async rename(id: string, name: string): Promise<void> {
    try {
      this.db.prepare("UPDATE micros SET name = ?, updated_at = ? WHERE id = ?").run(name, Date.now(), id);
    } catch (err) {
      throw isUniqueViolation(err) ? microNameTaken(name, err) : err;
    }
  }

  async setRuntime(id: string, runtime: string): Promise<void> {
    this.db.prepare("UPDATE micros SET runtime = ?, updated_at = ? WHERE id = ?").run(runtime, Date.now(), id);
  }

  async setLimits(id: string, limits: LimitOverrides): Promise<void> {
    this.db
      .prepare(
        "UPDATE micros SET memory_bytes = ?, timeout_ms = ?, request_body_bytes = ?, updated_at = ? WHERE id = ?",
      )
      .run(limits.memoryBytes, limits.timeoutMs, limits.requestBodyBytes, Date.now(), id);
  }
}
