export interface ScheduleRow {
  microId: string;
  expression: string;
  nextRunAt: number;
  lastRunAt: number | null;
}

export interface ScheduleDbRow {
  micro_id: string;
  expression: string;
  next_run_at: number;
  last_run_at: number | null;
}

export const toSchedule = (row: ScheduleDbRow): ScheduleRow => ({
  microId: row.micro_id,
  expression: row.expression,
  nextRunAt: row.next_run_at,
  lastRunAt: row.last_run_at,
});

export interface Schedules {
  set(microId: string, expression: string, nextRunAt: number): Promise<void>;
  remove(microId: string): Promise<boolean>;
  get(microId: string): Promise<ScheduleRow | undefined>;
  all(): Promise<ScheduleRow[]>;
  /**
   * Takes the run that was due at `dueAt` for this caller, setting when it ran and when the next is due. Only one
   * caller gets a given run, however many servers on the store try at once: false means another took it, or the
   * schedule changed since it was read.
   */
  claim(microId: string, dueAt: number, at: number, nextRunAt: number): Promise<boolean>;
}
