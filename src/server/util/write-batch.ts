export interface WriteBatchOptions<T> {
  /** How long an item may wait before its batch is written. */
  delayMs: number;
  /** A batch is written at once when this many items wait. */
  maxItems: number;
  /**
   * Bytes that may wait to be written (queued, or in a batch not yet written), as `sizeOf` counts them. A store
   * slower than what arrives (a micro printing a flood of lines into PostgreSQL, say) must not make the daemon hold
   * it all: past this, `add` refuses items until the writes catch up.
   */
  maxWaitingBytes: number;
  sizeOf(item: T): number;
  /** Writes a batch; it reports its own failures and never rejects, so one lost batch does not stop the rest. */
  write(items: T[]): Promise<void>;
  /** Called once the writes have caught up (half the bytes free again) after `add` refused items. */
  onRoom?(): void;
}

/**
 * Gathers items to write to the store together: a transaction costs ~70 µs whatever it holds and an item ~5 µs,
 * so one transaction per request doubled the gateway's own cost. Items wait up to `delayMs`, or until `maxItems`
 * are waiting, so a burst neither waits nor piles up. Readers await `flush()` first, so they never miss an item.
 * Batches are written one at a time, in order: the store is asynchronous, and a later batch must not overtake one
 * still being written (followers see lines in the order they came).
 */
export class WriteBatch<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private soon = false;
  /** The last batch handed to `write`, settled once it and every batch before it are written. */
  private written: Promise<void> = Promise.resolve();
  private waitingBytes = 0;
  private refused = false;
  private readonly flushLater = () => void this.flush();

  constructor(private readonly options: WriteBatchOptions<T>) {}

  /** Queues `item`; false when it was refused because too much already waits to be written. */
  add(item: T): boolean {
    const size = this.options.sizeOf(item);
    if (this.waitingBytes + size > this.options.maxWaitingBytes) {
      this.refused = true;
      return false;
    }
    this.waitingBytes += size;
    this.pending.push(item);
    if (this.pending.length < this.options.maxItems) {
      this.timer ??= setTimeout(this.flushLater, this.options.delayMs).unref();
    } else if (!this.soon) {
      this.soon = true;
      setImmediate(this.flushLater);
    }
    return true;
  }

  /** Drops waiting items that no longer should be written. */
  drop(unwanted: (item: T) => boolean): void {
    const kept = this.pending.filter((item) => !unwanted(item));
    this.waitingBytes -= this.bytesOf(this.pending) - this.bytesOf(kept);
    this.pending = kept;
  }

  /** Hands what waits to `write`; settles once everything added so far is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = false;
    if (this.pending.length > 0) {
      const items = this.pending;
      const bytes = this.bytesOf(items);
      this.pending = [];
      const write = () => this.options.write(items).finally(() => this.settled(bytes));
      // After the batch before, whether it was written or not: one failure must not stop every later batch.
      this.written = this.written.then(write, write);
    }
    return this.written;
  }

  private settled(bytes: number): void {
    this.waitingBytes -= bytes;
    if (this.refused && this.waitingBytes <= this.options.maxWaitingBytes / 2) {
      this.refused = false;
      this.options.onRoom?.();
    }
  }

  private bytesOf(items: readonly T[]): number {
    let bytes = 0;
    for (const item of items) bytes += this.options.sizeOf(item);
    return bytes;
  }
}
