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
  ran(microId: string, at: number, nextRunAt: number): Promise<void>;
}
