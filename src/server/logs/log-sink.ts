import { EventEmitter } from "node:events";
import type { LogLine, LogSource, Logs, NewLogLine } from "../store/logs.js";
import { WriteBatch } from "../util/write-batch.js";

/** Longer lines are cut; an instance's output is cut to this many bytes already as it is read. */
const MAX_LINE = 16 * 1024;
/** Lines kept per micro; older ones are trimmed as new ones arrive. */
const KEEP_PER_MICRO = 10_000;
const TRIM_EVERY = 500;
/** Lines are written together at most this late (most apps log a line per request), or 1000 at a time. */
const FLUSH_DELAY_MS = 50;
const FLUSH_AT = 1000;
/** Bytes of lines that may wait for the store; a micro that prints faster than the store writes loses lines past it. */
const MAX_WAITING_BYTES = 8 * 1024 * 1024;
/** What a line costs besides its text: its fields and the objects holding them. */
const LINE_OVERHEAD = 200;

/**
 * Collects log lines from instances and the platform, writes them to the store
 * in batches (not one transaction per line) and tells followers.
 */
export class LogSink {
  private readonly batch = new WriteBatch<NewLogLine>({
    delayMs: FLUSH_DELAY_MS,
    maxItems: FLUSH_AT,
    maxWaitingBytes: MAX_WAITING_BYTES,
    sizeOf: (line) => line.message.length + LINE_OVERHEAD,
    write: (lines) => this.store(lines),
    onRoom: () => this.reportDropped(),
  });
  private readonly written = new Map<string, number>();
  /** Lines refused per micro while the store was behind, reported in its logs once it caught up. */
  private readonly dropped = new Map<string, number>();
  private readonly events = new EventEmitter();
  private readonly forgotten = new Set<string>();

  constructor(private readonly logs: Logs) {
    this.events.setMaxListeners(0);
  }

  /** Drops what is pending for a deleted micro and ignores whatever still comes for it. */
  forget(microId: string): void {
    this.forgotten.add(microId);
    this.dropped.delete(microId);
    this.batch.drop((line) => line.microId === microId);
    this.written.delete(microId);
  }

  /** `cut`: the line was longer than this and lost its end on the way (an instance's output is cut as it is read). */
  write(microId: string, source: LogSource, message: string, instanceId: string | null = null, cut = false): void {
    if (this.forgotten.has(microId)) return;
    const text =
      cut || message.length > MAX_LINE
        ? `${message.slice(0, MAX_LINE)}… [line cut: longer than ${MAX_LINE / 1024} KiB]`
        : message;
    if (!this.batch.add({ microId, ts: Date.now(), source, instanceId, message: text })) {
      this.dropped.set(microId, (this.dropped.get(microId) ?? 0) + 1);
    }
  }

  /** Something the platform itself has to say about a micro (a crash, a deploy). */
  platform(microId: string, message: string, instanceId: string | null = null): void {
    this.write(microId, "platform", message, instanceId);
  }

  flush(): Promise<void> {
    return this.batch.flush();
  }

  private reportDropped(): void {
    const dropped = [...this.dropped];
    this.dropped.clear();
    for (const [microId, count] of dropped) {
      this.platform(
        microId,
        `${count} lines dropped: the micro printed faster than the platform could store them (over ${MAX_WAITING_BYTES / 1024 / 1024} MB waiting). Print less, or less often.`,
      );
    }
  }

  private async store(batch: NewLogLine[]): Promise<void> {
    let stored: LogLine[];
    try {
      stored = await this.logs.append(batch);
    } catch (err) {
      // Losing a batch of log lines must never take the platform down with it.
      process.stderr.write(`micros: could not store ${batch.length} log lines: ${(err as Error).message}\n`);
      return;
    }
    for (const line of stored) {
      this.events.emit(line.microId, line);
      const count = (this.written.get(line.microId) ?? 0) + 1;
      this.written.set(line.microId, count);
      if (count % TRIM_EVERY === 0) await this.trim(line.microId);
    }
  }

  private async trim(microId: string): Promise<void> {
    try {
      await this.logs.trim(microId, KEEP_PER_MICRO);
    } catch (err) {
      // Trimming comes round again in TRIM_EVERY lines; a failure now costs only some disk meanwhile.
      process.stderr.write(`micros: could not trim the logs of ${microId}: ${(err as Error).message}\n`);
    }
  }

  /** Calls `listener` with every new line of a micro until the returned function is called. */
  follow(microId: string, listener: (line: LogLine) => void): () => void {
    this.events.on(microId, listener);
    return () => this.events.off(microId, listener);
  }
}
