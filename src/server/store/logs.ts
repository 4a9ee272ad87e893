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

export interface LogRow {
  id: number;
  micro_id: string;
  ts: number;
  source: LogSource;
  instance_id: string | null;
  message: string;
}

export function toLine(row: LogRow): LogLine {
  return {
    id: row.id,
    microId: row.micro_id,
    ts: row.ts,
    source: row.source,
    instanceId: row.instance_id,
    message: row.message,
  };
}

export interface Logs {
  /** Writes a batch in one transaction and returns the lines with their ids. */
  append(lines: readonly NewLogLine[]): Promise<LogLine[]>;
  /** The newest `limit` lines at or after `sinceTs`, oldest first. */
  list(microId: string, options: { sinceTs?: number; limit: number }): Promise<LogLine[]>;
  /** Up to `limit` lines after the line `afterId` (0: from the first), oldest first. */
  after(microId: string, afterId: number, limit: number): Promise<LogLine[]>;
  /** The id of the micro's newest line, 0 when it has none. */
  lastId(microId: string): Promise<number>;
  /** Keeps the newest `keep` lines of a micro, so logs cannot grow without end. */
  trim(microId: string, keep: number): Promise<void>;
}
