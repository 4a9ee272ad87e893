import { type ScheduleDbRow, type ScheduleRow, type Schedules, toSchedule } from "../schedules.js";
import type { Db } from "./database.js";

export class SqliteSchedules implements Schedules {
  constructor(private readonly db: Db) {}

  async set(microId: string, expression: string, nextRunAt: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO schedules (micro_id, expression, next_run_at) VALUES (?, ?, ?)
         ON CONFLICT (micro_id) DO UPDATE SET expression = excluded.expression, next_run_at = excluded.next_run_at`,
      )
      .run(microId, expression, nextRunAt);
  }

  async remove(microId: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM schedules WHERE micro_id = ?").run(microId).changes > 0;
  }

  async get(microId: string): Promise<ScheduleRow | undefined> {
    const row = this.db.prepare("SELECT * FROM schedules WHERE micro_id = ?").get(microId) as ScheduleDbRow | undefined;
    return row && toSchedule(row);
  }

  async all(): Promise<ScheduleRow[]> {
    return (this.db.prepare("SELECT * FROM schedules ORDER BY next_run_at").all() as ScheduleDbRow[]).map(toSchedule);
  }

  async claim(microId: string, dueAt: number, at: number, nextRunAt: number): Promise<boolean> {
    const claimed = this.db
      .prepare("UPDATE schedules SET last_run_at = ?, next_run_at = ? WHERE micro_id = ? AND next_run_at = ?")
      .run(at, nextRunAt, microId, dueAt);
    return claimed.changes > 0;
  }
}
