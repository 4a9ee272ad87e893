import { MicrosError } from "../../shared/errors.js";
import type { Db } from "./database.js";

export interface Domain {
  host: string;
  microId: string;
  createdAt: number;
}

interface DomainRow {
  host: string;
  micro_id: string;
  subdomain: string;
  created_at: number;
}

/** Custom domains: each host name belongs to one micro, platform-wide. */
export class Domains {
  /**
   * Host name to the subdomain of the micro serving it, for the gateway's every request on a host that is not the
   * platform's. Loaded whole (there are few) and dropped when the table changes, cascades from a deleted micro
   * included: a trigger empties it.
   */
  private routes: Map<string, string> | undefined;

  constructor(private readonly db: Db) {
    db.function("domains_changed", () => {
      this.routes = undefined;
      return null;
    });
    for (const event of ["INSERT", "UPDATE", "DELETE"]) {
      db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS domains_${event.toLowerCase()} AFTER ${event} ON main.domains
               BEGIN SELECT domains_changed(); END`);
    }
  }

  /** Gives `host` (already checked and lower-cased) to the micro; a host another micro has is refused. */
  add(microId: string, host: string): Domain {
    const domain = { host, microId, createdAt: Date.now() };
    const taken = this.db.prepare("SELECT micro_id FROM domains WHERE host = ?").get(host) as
      | { micro_id: string }
      | undefined;
    if (taken) {
      throw new MicrosError(
        "ERR_DOMAIN_TAKEN",
        taken.micro_id === microId
          ? `${host} is already a domain of this micro.`
          : `${host} is already the domain of another micro on this server. Remove it there first (\`micros domains remove ${host}\`), or choose another host name.`,
        { details: { host } },
      );
    }
    this.db
      .prepare("INSERT INTO domains (host, micro_id, created_at) VALUES (?, ?, ?)")
      .run(domain.host, domain.microId, domain.createdAt);
    return domain;
  }

  /** Whether the micro had the host (and no longer has it). */
  remove(microId: string, host: string): boolean {
    return this.db.prepare("DELETE FROM domains WHERE micro_id = ? AND host = ?").run(microId, host).changes > 0;
  }

  forMicro(microId: string): Domain[] {
    const rows = this.db
      .prepare("SELECT host, micro_id, created_at FROM domains WHERE micro_id = ? ORDER BY host")
      .all(microId) as DomainRow[];
    return rows.map((row) => ({ host: row.host, microId: row.micro_id, createdAt: row.created_at }));
  }

  /** Every custom host name on the platform. */
  hosts(): string[] {
    return [...this.table().keys()];
  }

  /** The subdomain of the micro that serves `host` (lower-case, no port), if any. */
  subdomainFor(host: string): string | undefined {
    return this.table().get(host);
  }

  private table(): Map<string, string> {
    if (this.routes) return this.routes;
    const rows = this.db
      .prepare("SELECT domains.host, micros.subdomain FROM domains JOIN micros ON micros.id = domains.micro_id")
      .all() as DomainRow[];
    const routes = new Map(rows.map((row) => [row.host, row.subdomain]));
    // Inside a transaction the rows may yet be rolled back: read them, but do not keep them.
    if (!this.db.inTransaction) this.routes = routes;
    return routes;
  }
}
