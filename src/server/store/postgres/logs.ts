import { type LogLine, type LogRow, type Logs, type NewLogLine, toLine } from "../logs.js";
import type { PgDb } from "./database.js";

export class PgLogs implements Logs {
  constructor(private readonly db: PgDb) {}

  /**
   * One INSERT for the batch (a statement is atomic, so no transaction is needed). Rows are inserted in the order
   * given, so their serial ids rise in that order: sorted, the returned ids pair with the lines one by one.
   */
  async append(lines: readonly NewLogLine[]): Promise<LogLine[]> {
    if (!lines.length) return [];
    const rows = await this.db.rows<{ id: number }>(
      `INSERT INTO logs (micro_id, ts, source, instance_id, message)
       SELECT micro_id, ts, source, instance_id, message FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
         AS batch(micro_id, ts, source, instance_id, message, n)
       ORDER BY n
       RETURNING id`,
      [
        lines.map((line) => line.microId),
        lines.map((line) => line.ts),
        lines.map((line) => line.source),
        lines.map((line) => line.instanceId),
        lines.map((line) => line.message),
      ],
    );
    const ids = rows.map((row) => row.id).sort((a, b) => a - b);
    return lines.map((line, index) => ({ ...line, id: ids[index] as number }));
  }

  async list(microId: string, options: { sinceTs?: number; limit: number }): Promise<LogLine[]> {
    const rows = await this.db.rows<LogRow>(
      `SELECT * FROM (
         SELECT * FROM logs WHERE micro_id = $1 AND ts >= $2 ORDER BY id DESC LIMIT $3
       ) AS newest ORDER BY id ASC`,
      [microId, options.sinceTs ?? 0, options.limit],
    );
    return rows.map(toLine);
  }

  async after(microId: string, afterId: number, limit: number): Promise<LogLine[]> {
    const rows = await this.db.rows<LogRow>(
      "SELECT * FROM logs WHERE micro_id = $1 AND id > $2 ORDER BY id ASC LIMIT $3",
      [microId, afterId, limit],
    );
    return rows.map(toLine);
  }

  async lastId(microId: string): Promise<number> {
    const row = await this.db.row<{ id: number | null }>("SELECT MAX(id) AS id FROM logs WHERE micro_id = $1", [
      microId,
    ]);
    return row?.id ?? 0;
  }

  async trim(microId: string, keep: number): Promise<void> {
    await this.db.run(
      `DELETE FROM logs WHERE micro_id = $1 AND id <= (
         SELECT id FROM logs WHERE micro_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2
       )`,
      [microId, keep],
    );
  }
}
