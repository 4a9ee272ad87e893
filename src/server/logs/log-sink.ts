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
/** Lines read from the store at a time for followers here of lines other nodes wrote. */
const PULL_AT = 1000;

/** A micro followed here, on a node of a cluster: where its lines from other nodes were read up to. */
interface Followed {
  /** The id of the last line read from the store. */
  cursor: number;
  /** Ids of lines this node wrote and its followers had at once, which a read from the store skips. */
  local: Set<number>;
  /** A read is under way; `again` asks for one more after it (lines arrived meanwhile). */
  reading: boolean;
  again: boolean;
}

/**
 * Collects log lines from instances and the platform, writes them to the store
 * in batches (not one transaction per line) and tells followers. On a node of a
 * cluster, followers also get the lines other nodes wrote: each node announces
 * the micros of every batch it stores, and a node with followers of one reads
 * that micro's new lines from the store.
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
  private readonly followed = new Map<string, Followed>();

  /** `announce`: tells the other nodes which micros a stored batch held (a cluster's nodes only). */
  constructor(
    private readonly logs: Logs,
    private readonly announce?: (microIds: string[]) => void,
  ) {
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
      this.followed.get(line.microId)?.local.add(line.id);
      this.events.emit(line.microId, line);
      const count = (this.written.get(line.microId) ?? 0) + 1;
      this.written.set(line.microId, count);
      if (count % TRIM_EVERY === 0) await this.trim(line.microId);
    }
    this.announce?.([...new Set(stored.map((line) => line.microId))]);
  }

  /** Another node stored lines of these micros: followers here read them from the store. */
  othersWrote(microIds: readonly string[]): void {
    for (const microId of microIds) {
      const followed = this.followed.get(microId);
      if (!followed) continue;
      if (followed.reading) followed.again = true;
      else void this.read(microId, followed);
    }
  }

  private async read(microId: string, followed: Followed): Promise<void> {
    followed.reading = true;
    try {
      do {
        followed.again = false;
        let lines: LogLine[];
        do {
          lines = await this.logs.after(microId, followed.cursor, PULL_AT);
          for (const line of lines) {
            followed.cursor = line.id;
            if (!followed.local.delete(line.id)) this.events.emit(microId, line);
          }
        } while (lines.length === PULL_AT && this.followed.get(microId) === followed);
        for (const id of followed.local) if (id <= followed.cursor) followed.local.delete(id);
      } while (followed.again && this.followed.get(microId) === followed);
    } catch (err) {
      // The next batch another node announces reads again from the same place.
      process.stderr.write(
        `micros: could not read the logs of ${microId} other nodes wrote: ${(err as Error).message}\n`,
      );
    } finally {
      followed.reading = false;
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

  /**
   * Calls `listener` with every new line of a micro until the returned function is called. `fromId`, the last line
   * the follower has, is where lines other nodes write are read from (for the micro's first follower here).
   */
  follow(microId: string, listener: (line: LogLine) => void, fromId = 0): () => void {
    this.events.on(microId, listener);
    if (this.announce && !this.followed.has(microId)) {
      this.followed.set(microId, { cursor: fromId, local: new Set(), reading: false, again: false });
    }
    return () => {
      this.events.off(microId, listener);
      if (this.events.listenerCount(microId) === 0) this.followed.delete(microId);
    };
  }
}
