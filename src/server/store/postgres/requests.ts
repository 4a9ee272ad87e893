import {
  REQUEST_COLUMNS,
  type RequestRecord,
  type RequestRow,
  type Requests,
  requestValues,
  type StoredRequest,
  toRequest,
} from "../requests.js";
import type { PgDb } from "./database.js";

const PER_ROW = 15;

export class PgRequests implements Requests {
  constructor(private readonly db: PgDb) {}

  /** One multi-row INSERT per batch, its values all parameters ($1 ... $n), so the batch is stored whole or not. */
  async append(records: readonly RequestRecord[]): Promise<void> {
    if (!records.length) return;
    const tuples = records.map(
      (_, row) => `(${Array.from({ length: PER_ROW }, (_, column) => `$${row * PER_ROW + column + 1}`).join(", ")})`,
    );
    await this.db.run(
      `INSERT INTO requests (${REQUEST_COLUMNS}) VALUES ${tuples.join(", ")}`,
      records.flatMap(requestValues),
    );
  }

  async list(microId: string, limit: number): Promise<StoredRequest[]> {
    const rows = await this.db.rows<RequestRow>(
      `SELECT * FROM (SELECT * FROM requests WHERE micro_id = $1 ORDER BY id DESC LIMIT $2) AS newest
       ORDER BY id ASC`,
      [microId, limit],
    );
    return rows.map(toRequest);
  }

  async countsSince(ownerId: string, since: number): Promise<{ microId: string; requests: number; errors: number }[]> {
    return this.db.rows(
      `SELECT requests.micro_id AS "microId", COUNT(*)::integer AS requests,
              COUNT(*) FILTER (WHERE requests.status >= 500)::integer AS errors
       FROM requests
         JOIN micros ON micros.id = requests.micro_id
         JOIN projects ON projects.id = micros.project_id
       WHERE projects.owner_id = $1 AND requests.ts >= $2
       GROUP BY requests.micro_id`,
      [ownerId, since],
    );
  }

  async byId(microId: string, id: number): Promise<StoredRequest | undefined> {
    const row = await this.db.row<RequestRow>("SELECT * FROM requests WHERE micro_id = $1 AND id = $2", [microId, id]);
    return row && toRequest(row);
  }

  async trim(microId: string, keep: number, since: number): Promise<void> {
    await this.db.run("DELETE FROM requests WHERE micro_id = $1 AND ts < $2", [microId, since]);
    await this.db.run(
      `DELETE FROM requests WHERE micro_id = $1 AND id <= (
         SELECT id FROM requests WHERE micro_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`,
      [microId, keep],
    );
  }
}
