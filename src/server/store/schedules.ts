import type { Db } from "./database.js";

export interface ScheduleRow {
  microId: string;
  expression: string;
  nextRunAt: number;
  lastRunAt: number | null;
}

interface Row {
  micro_id: string;
  expression: string;
  next_run_at: number;
  last_run_at: number | null;
}

const toSchedule = (row: Row): ScheduleRow => ({
  microId: row.micro_id,
  expression: row.expression,
  nextRunAt: row.next_run_at,
  lastRunAt: row.last_run_at,
});

export class Schedules {
  constructor(private readonly db: Db) {}

  set(microId: string, expression: string, nextRunAt: number): void {
    this.db
      .prepare(
        `INSERT INTO schedules (micro_id, expression, next_run_at) VALUES (?, ?, ?)
         ON CONFLICT (micro_id) DO UPDATE SET expression = excluded.expression, next_run_at = excluded.next_run_at`,
      )
      .run(microId, expression, nextRunAt);
  }

  remove(microId: string): boolean {
    return this.db.prepare("DELETE FROM schedules WHERE micro_id = ?").run(microId).changes > 0;
  }

  get(microId: string): ScheduleRow | undefined {
    const row = this.db.prepare("SELECT * FROM schedules WHERE micro_id = ?").get(microId) as Row | undefined;
    return row && toSchedule(row);
  }

  all(): ScheduleRow[] {
    return (this.db.prepare("SELECT * FROM schedules ORDER BY next_run_at").all() as Row[]).map(toSchedule);
  }

  ran(microId: string, at: number, nextRunAt: number): void {
    this.db
      .prepare("UPDATE schedules SET last_run_at = ?, next_run_at = ? WHERE micro_id = ?")
      .run(at, nextRunAt, microId);
  }
}
