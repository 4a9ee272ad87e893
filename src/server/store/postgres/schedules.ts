import { type ScheduleDbRow, type ScheduleRow, type Schedules, toSchedule } from "../schedules.js";
import type { PgDb } from "./database.js";

export class PgSchedules implements Schedules {
  constructor(private readonly db: PgDb) {}

  async set(microId: string, expression: string, nextRunAt: number): Promise<void> {
    await this.db.run(
      `INSERT INTO schedules (micro_id, expression, next_run_at) VALUES ($1, $2, $3)
       ON CONFLICT (micro_id) DO UPDATE SET expression = EXCLUDED.expression, next_run_at = EXCLUDED.next_run_at`,
      [microId, expression, nextRunAt],
    );
  }

  async remove(microId: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM schedules WHERE micro_id = $1", [microId])) > 0;
  }

  async get(microId: string): Promise<ScheduleRow | undefined> {
    const row = await this.db.row<ScheduleDbRow>("SELECT * FROM schedules WHERE micro_id = $1", [microId]);
    return row && toSchedule(row);
  }

  async all(): Promise<ScheduleRow[]> {
    return (await this.db.rows<ScheduleDbRow>("SELECT * FROM schedules ORDER BY next_run_at")).map(toSchedule);
  }

  async claim(microId: string, dueAt: number, at: number, nextRunAt: number): Promise<boolean> {
    const claimed = await this.db.run(
      "UPDATE schedules SET last_run_at = $1, next_run_at = $2 WHERE micro_id = $3 AND next_run_at = $4",
      [at, nextRunAt, microId, dueAt],
    );
    return claimed > 0;
  }
}
