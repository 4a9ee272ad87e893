import { type LogLine, type LogRow, type Logs, type NewLogLine, toLine } from "../logs.js";
import type { Db } from "./database.js";

export class SqliteLogs implements Logs {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      "INSERT INTO logs (micro_id, ts, source, instance_id, message) VALUES (?, ?, ?, ?, ?)",
    );
  }

  async append(lines: readonly NewLogLine[]): Promise<LogLine[]> {
    return this.db.transaction(() =>
      lines.map((line) => {
        const { lastInsertRowid } = this.insertStmt.run(
          line.microId,
          line.ts,
          line.source,
          line.instanceId,
          line.message,
        );
        return { ...line, id: Number(lastInsertRowid) };
      }),
    )();
  }

  async list(microId: string, options: { sinceTs?: number; limit: number }): Promise<LogLine[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM (
           SELECT * FROM logs WHERE micro_id = ? AND ts >= ? ORDER BY id DESC LIMIT ?
         ) ORDER BY id ASC`,
      )
      .all(microId, options.sinceTs ?? 0, options.limit) as LogRow[];
    return rows.map(toLine);
  }

  async after(microId: string, afterId: number, limit: number): Promise<LogLine[]> {
    const rows = this.db
      .prepare("SELECT * FROM logs WHERE micro_id = ? AND id > ? ORDER BY id ASC LIMIT ?")
      .all(microId, afterId, limit) as LogRow[];
    return rows.map(toLine);
  }

  async lastId(microId: string): Promise<number> {
    const row = this.db.prepare("SELECT MAX(id) AS id FROM logs WHERE micro_id = ?").get(microId) as {
      id: number | null;
    };
    return row.id ?? 0;
  }

  async trim(microId: string, keep: number): Promise<void> {
    this.db
      .prepare(
        `DELETE FROM logs WHERE micro_id = ? AND id <= (
           SELECT id FROM logs WHERE micro_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?
         )`,
      )
      .run(microId, microId, keep);
  }
}
