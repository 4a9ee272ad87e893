import { EventEmitter } from "node:events";
import type { LogLine, LogSource, Logs, NewLogLine } from "../store/logs.js";

const MAX_LINE = 16 * 1024;
/** Lines kept per micro; older ones are trimmed as new ones arrive. */
const KEEP_PER_MICRO = 10_000;
const TRIM_EVERY = 500;
/**
 * Lines wait this long to be written together: a transaction costs ~70 µs whatever it holds, a line ~5 µs, and an
 * app that logs every request (most do) cost the daemon one transaction per request. Readers flush first.
 */
const FLUSH_DELAY_MS = 50;
/** ...or as soon as this many are waiting. */
const FLUSH_AT = 1000;

/**
 * Collects log lines from instances and the platform, writes them to the store
 * in batches (one transaction per FLUSH_DELAY_MS, not per line) and tells followers.
 */
export class LogSink {
  private pending: NewLogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private soon = false;
  private readonly flushLater = () => this.flush();
  private readonly written = new Map<string, number>();
  private readonly events = new EventEmitter();
  private readonly forgotten = new Set<string>();

  constructor(private readonly logs: Logs) {
    this.events.setMaxListeners(0);
  }

  /** Drops what is pending for a deleted micro and ignores whatever still comes for it. */
  forget(microId: string): void {
    this.forgotten.add(microId);
    this.pending = this.pending.filter((line) => line.microId !== microId);
    this.written.delete(microId);
  }

  write(microId: string, source: LogSource, message: string, instanceId: string | null = null): void {
    if (this.forgotten.has(microId)) return;
    const text =
      message.length > MAX_LINE ? `${message.slice(0, MAX_LINE)}… [line cut at ${MAX_LINE} characters]` : message;
    this.pending.push({ microId, ts: Date.now(), source, instanceId, message: text });
    if (this.pending.length < FLUSH_AT) {
      this.timer ??= setTimeout(this.flushLater, FLUSH_DELAY_MS).unref();
    } else if (!this.soon) {
      this.soon = true;
      setImmediate(this.flushLater);
    }
  }

  /** Something the platform itself has to say about a micro (a crash, a deploy). */
  platform(microId: string, message: string, instanceId: string | null = null): void {
    this.write(microId, "platform", message, instanceId);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let stored: LogLine[];
    try {
      stored = this.logs.append(batch);
    } catch (err) {
      // Losing a batch of log lines must never take the platform down with it.
      process.stderr.write(`micros: could not store ${batch.length} log lines: ${(err as Error).message}\n`);
      return;
    }
    for (const line of stored) {
      this.events.emit(line.microId, line);
      const count = (this.written.get(line.microId) ?? 0) + 1;
      this.written.set(line.microId, count);
      if (count % TRIM_EVERY === 0) this.logs.trim(line.microId, KEEP_PER_MICRO);
    }
  }

  /** Calls `listener` with every new line of a micro until the returned function is called. */
  follow(microId: string, listener: (line: LogLine) => void): () => void {
    this.events.on(microId, listener);
    return () => this.events.off(microId, listener);
  }
}
