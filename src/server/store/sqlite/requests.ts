import {
  REQUEST_COLUMNS,
  type RequestRecord,
  type RequestRow,
  type Requests,
  requestValues,
  type StoredRequest,
  toRequest,
} from "../requests.js";
import type { Db } from "./database.js";

/** The visor's table: requests per micro, newest kept, oldest trimmed. */
export class SqliteRequests implements Requests {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      `INSERT INTO requests (${REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  async append(records: readonly RequestRecord[]): Promise<void> {
    this.db.transaction(() => {
      // SQLite has no booleans: `cold` is stored as 0 or 1.
      for (const record of records)
        this.insertStmt.run(...requestValues(record).map((v) => (typeof v === "boolean" ? Number(v) : v)));
    })();
  }

  async list(microId: string, limit: number): Promise<StoredRequest[]> {
    const rows = this.db
      .prepare("SELECT * FROM (SELECT * FROM requests WHERE micro_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id ASC")
      .all(microId, limit) as RequestRow[];
    return rows.map(toRequest);
  }

  async countsSince(ownerId: string, since: number): Promise<{ microId: string; requests: number; errors: number }[]> {
    return this.db
      .prepare(
        `SELECT requests.micro_id AS microId, COUNT(*) AS requests, SUM(requests.status >= 500) AS errors
         FROM requests
           JOIN micros ON micros.id = requests.micro_id
           JOIN projects ON projects.id = micros.project_id
         WHERE projects.owner_id = ? AND requests.ts >= ?
         GROUP BY requests.micro_id`,
      )
      .all(ownerId, since) as { microId: string; requests: number; errors: number }[];
  }

  async byId(microId: string, id: number): Promise<StoredRequest | undefined> {
    const row = this.db.prepare("SELECT * FROM requests WHERE micro_id = ? AND id = ?").get(microId, id) as
      | RequestRow
      | undefined;
    return row && toRequest(row);
  }

  async trim(microId: string, keep: number, since: number): Promise<void> {
    this.db.prepare("DELETE FROM requests WHERE micro_id = ? AND ts < ?").run(microId, since);
    this.db
      .prepare(
        `DELETE FROM requests WHERE micro_id = ? AND id <= (
           SELECT id FROM requests WHERE micro_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      )
      .run(microId, microId, keep);
  }
}
