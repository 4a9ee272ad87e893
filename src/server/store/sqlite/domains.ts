import { type Domain, type Domains, domainTaken } from "../domains.js";
import type { Db } from "./database.js";

interface DomainRow {
  host: string;
  micro_id: string;
  subdomain: string;
  created_at: number;
}

export class SqliteDomains implements Domains {
  /**
   * Host name to the subdomain of the micro serving it. Loaded whole (there are few) and dropped when the table
   * changes, cascades from a deleted micro included: a trigger empties it.
   */
  private routeTable: Map<string, string> | undefined;

  constructor(private readonly db: Db) {
    db.function("domains_changed", () => {
      this.routeTable = undefined;
      return null;
    });
    for (const event of ["INSERT", "UPDATE", "DELETE"]) {
      db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS domains_${event.toLowerCase()} AFTER ${event} ON main.domains
               BEGIN SELECT domains_changed(); END`);
    }
  }

  /** Synchronous underneath, so the look for an owner and the insert cannot be split by another add. */
  async add(microId: string, host: string): Promise<Domain> {
    const domain = { host, microId, createdAt: Date.now() };
    const taken = this.db.prepare("SELECT micro_id FROM domains WHERE host = ?").get(host) as
      | { micro_id: string }
      | undefined;
    if (taken) throw domainTaken(host, microId, taken.micro_id);
    this.db
      .prepare("INSERT INTO domains (host, micro_id, created_at) VALUES (?, ?, ?)")
      .run(domain.host, domain.microId, domain.createdAt);
    return domain;
  }

  async remove(microId: string, host: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM domains WHERE micro_id = ? AND host = ?").run(microId, host).changes > 0;
  }

  async forMicro(microId: string): Promise<Domain[]> {
    const rows = this.db
      .prepare("SELECT host, micro_id, created_at FROM domains WHERE micro_id = ? ORDER BY host")
      .all(microId) as DomainRow[];
    return rows.map((row) => ({ host: row.host, microId: row.micro_id, createdAt: row.created_at }));
  }

  async hosts(): Promise<string[]> {
    return [...this.table().keys()];
  }

  async routes(): Promise<ReadonlyMap<string, string>> {
    return this.table();
  }

  private table(): Map<string, string> {
    if (this.routeTable) return this.routeTable;
    const rows = this.db
      .prepare("SELECT domains.host, micros.subdomain FROM domains JOIN micros ON micros.id = domains.micro_id")
      .all() as DomainRow[];
    const routes = new Map(rows.map((row) => [row.host, row.subdomain]));
    // Inside a transaction the rows may yet be rolled back: read them, but do not keep them.
    if (!this.db.inTransaction) this.routeTable = routes;
    return routes;
  }
}
