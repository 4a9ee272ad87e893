import type { Db } from "./database.js";

/** Where a log line came from: the app's own output, or the platform speaking about the micro. */
export type LogSource = "stdout" | "stderr" | "platform";

export interface LogLine {
  id: number;
  microId: string;
  ts: number;
  source: LogSource;
  instanceId: string | null;
  message: string;
}

export type NewLogLine = Omit<LogLine, "id">;

interface LogRow {
  id: number;
  micro_id: string;
  ts: number;
  source: LogSource;
  instance_id: string | null;
  message: string;
}

function toLine(row: LogRow): LogLine {
  return {
    id: row.id,
    microId: row.micro_id,
    ts: row.ts,
    source: row.source,
    instanceId: row.instance_id,
    message: row.message,
  };
}

export class Logs {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(
      "INSERT INTO logs (micro_id, ts, source, instance_id, message) VALUES (?, ?, ?, ?, ?)",
    );
  }

  /** Writes a batch in one transaction and returns the lines with their ids. */
  append(lines: readonly NewLogLine[]): LogLine[] {
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

  /** The newest `limit` lines at or after `sinceTs`, oldest first. */
  list(microId: string, options: { sinceTs?: number; limit: number }): LogLine[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (
           SELECT * FROM logs WHERE micro_id = ? AND ts >= ? ORDER BY id DESC LIMIT ?
         ) ORDER BY id ASC`,
      )
      .all(microId, options.sinceTs ?? 0, options.limit) as LogRow[];
    return rows.map(toLine);
  }

  /** Keeps the newest `keep` lines of a micro, so logs cannot grow without end. */
  trim(microId: string, keep: number): void {
    this.db
      .prepare(
        `DELETE FROM logs WHERE micro_id = ? AND id <= (
           SELECT id FROM logs WHERE micro_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?
         )`,
      )
      .run(microId, microId, keep);
  }
}
