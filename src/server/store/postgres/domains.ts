import { type Domain, type Domains, domainTaken } from "../domains.js";
import { type Changes, GenerationCache } from "./changes.js";
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class PgDomains implements Domains {
  /** The whole host → subdomain table (there are few), kept until domains or micros change (see Changes). */
  private readonly routeTable: GenerationCache<"all", ReadonlyMap<string, string>>;

  constructor(
    private readonly db: PgDb,
    private readonly changes: Changes,
  ) {
    this.routeTable = new GenerationCache(changes);
  }

  /** The host's primary key decides between two adds at once; the loser is told who has it. */
  async add(microId: string, host: string): Promise<Domain> {
    const domain = { host, microId, createdAt: Date.now() };
    try {
      await this.db.run("INSERT INTO domains (host, micro_id, created_at) VALUES ($1, $2, $3)", [
        host,
        microId,
        domain.createdAt,
      ]);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const owner = await this.db.row<{ micro_id: string }>("SELECT micro_id FROM domains WHERE host = $1", [host]);
      throw domainTaken(host, microId, owner?.micro_id ?? "", err);
    } finally {
      this.changes.changed();
    }
    return domain;
  }

  async remove(microId: string, host: string): Promise<boolean> {
    try {
      return (await this.db.run("DELETE FROM domains WHERE micro_id = $1 AND host = $2", [microId, host])) > 0;
    } finally {
      this.changes.changed();
    }
  }

  async forMicro(microId: string): Promise<Domain[]> {
    const rows = await this.db.rows<{ host: string; micro_id: string; created_at: number }>(
      "SELECT host, micro_id, created_at FROM domains WHERE micro_id = $1 ORDER BY host",
      [microId],
    );
    return rows.map((row) => ({ host: row.host, microId: row.micro_id, createdAt: row.created_at }));
  }

  async hosts(): Promise<string[]> {
    return [...(await this.routes()).keys()];
  }

  async routes(): Promise<ReadonlyMap<string, string>> {
    const cached = this.routeTable.get("all");
    if (cached) return cached;
    const readAt = this.changes.current;
    const rows = await this.db.rows<{ host: string; subdomain: string }>(
      "SELECT domains.host, micros.subdomain FROM domains JOIN micros ON micros.id = domains.micro_id",
    );
    const routes = new Map(rows.map((row) => [row.host, row.subdomain]));
    this.routeTable.set("all", routes, readAt);
    return routes;
  }
}
