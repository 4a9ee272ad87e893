import { type LimitOverrides, NO_OVERRIDES } from "../../limits.js";
import { newId } from "../ids.js";
import { type Micro, type MicroRow, type Micros, microNameTaken, suffixedSubdomain, toMicro } from "../micros.js";
import { type Changes, GenerationCache } from "./changes.js";
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class PgMicros implements Micros {
  /**
   * The gateway looks a micro up on every request: answered from memory until a write by any server on the database
   * changes micros (see Changes).
   */
  private readonly bySubdomainCache: GenerationCache<string, Readonly<Micro>>;

  constructor(
    private readonly db: PgDb,
    private readonly changes: Changes,
  ) {
    this.bySubdomainCache = new GenerationCache(changes);
  }

  /**
   * The subdomain is claimed by the insert itself (ON CONFLICT on it does nothing, and the next candidate is tried),
   * so two servers creating the same name at once cannot both get it; a name taken in the project is refused.
   */
  async create(input: { projectId: string; name: string; runtime: string }): Promise<Micro> {
    const now = Date.now();
    const micro: Micro = {
      id: newId(),
      projectId: input.projectId,
      name: input.name,
      subdomain: input.name,
      runtime: input.runtime,
      currentReleaseId: null,
      httpAuth: false,
      visor: false,
      limits: NO_OVERRIDES,
      createdAt: now,
    };
    try {
      for (;;) {
        const inserted = await this.db.run(
          `INSERT INTO micros (id, project_id, name, subdomain, runtime, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subdomain) DO NOTHING`,
          [micro.id, micro.projectId, micro.name, micro.subdomain, micro.runtime, now, now],
        );
        if (inserted > 0) break;
        micro.subdomain = suffixedSubdomain(input.name, newId(6));
      }
    } catch (err) {
      throw isUniqueViolation(err) ? microNameTaken(input.name, err) : err;
    }
    this.changes.changed();
    return micro;
  }

  async byId(id: string): Promise<Micro | undefined> {
    const row = await this.db.row<MicroRow>("SELECT * FROM micros WHERE id = $1", [id]);
    return row && toMicro(row);
  }

  async byName(projectId: string, name: string): Promise<Micro | undefined> {
    const row = await this.db.row<MicroRow>("SELECT * FROM micros WHERE project_id = $1 AND name = $2", [
      projectId,
      name,
    ]);
    return row && toMicro(row);
  }

  async bySubdomain(subdomain: string): Promise<Readonly<Micro> | undefined> {
    const cached = this.bySubdomainCache.get(subdomain);
    if (cached) return cached;
    const readAt = this.changes.current;
    const row = await this.db.row<MicroRow>("SELECT * FROM micros WHERE subdomain = $1", [subdomain]);
    if (!row) return undefined;
    const micro = toMicro(row);
    Object.freeze(micro.limits);
    this.bySubdomainCache.set(subdomain, Object.freeze(micro), readAt);
    return micro;
  }

  async listByOwner(ownerId: string, projectId?: string): Promise<Micro[]> {
    const rows = await this.db.rows<MicroRow>(
      `SELECT micros.* FROM micros JOIN projects ON projects.id = micros.project_id
       WHERE projects.owner_id = $1 AND ($2::text IS NULL OR micros.project_id = $2)
       ORDER BY micros.name`,
      [ownerId, projectId ?? null],
    );
    return rows.map(toMicro);
  }

  async delete(id: string): Promise<void> {
    await this.update("DELETE FROM micros WHERE id = $1", [id]);
  }

  async setVisor(id: string, enabled: boolean): Promise<void> {
    await this.update("UPDATE micros SET visor = $1, updated_at = $2 WHERE id = $3", [enabled, Date.now(), id]);
  }

  async setHttpAuth(id: string, enabled: boolean): Promise<void> {
    await this.update("UPDATE micros SET http_auth = $1, updated_at = $2 WHERE id = $3", [enabled, Date.now(), id]);
  }

  async rename(id: string, name: string): Promise<void> {
    try {
      await this.update("UPDATE micros SET name = $1, updated_at = $2 WHERE id = $3", [name, Date.now(), id]);
    } catch (err) {
      throw isUniqueViolation(err) ? microNameTaken(name, err) : err;
    }
  }

  async setRuntime(id: string, runtime: string): Promise<void> {
    await this.update("UPDATE micros SET runtime = $1, updated_at = $2 WHERE id = $3", [runtime, Date.now(), id]);
  }

  async setLimits(id: string, limits: LimitOverrides): Promise<void> {
    await this.update(
      "UPDATE micros SET memory_bytes = $1, timeout_ms = $2, request_body_bytes = $3, updated_at = $4 WHERE id = $5",
      [limits.memoryBytes, limits.timeoutMs, limits.requestBodyBytes, Date.now(), id],
    );
  }

  /**
   * A write to micros, which the cache must not outlive. Bumping once it is over is enough: a read that saw the old
   * row is either kept and dropped by this bump, or refused for having begun before it.
   */
  private async update(text: string, params: unknown[]): Promise<void> {
    try {
      await this.db.run(text, params);
    } finally {
      this.changes.changed();
    }
  }
}
