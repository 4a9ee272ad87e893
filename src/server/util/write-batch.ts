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
  private readonly flushLater = () => void this.flush();

  constructor(
    private readonly delayMs: number,
    private readonly maxItems: number,
    /** Writes a batch; it reports its own failures and never rejects, so one lost batch does not stop the rest. */
    private readonly write: (items: T[]) => Promise<void>,
  ) {}

  add(item: T): void {
    this.pending.push(item);
    if (this.pending.length < this.maxItems) {
      this.timer ??= setTimeout(this.flushLater, this.delayMs).unref();
    } else if (!this.soon) {
      this.soon = true;
      setImmediate(this.flushLater);
    }
  }

  /** Drops waiting items that no longer should be written. */
  drop(unwanted: (item: T) => boolean): void {
    this.pending = this.pending.filter((item) => !unwanted(item));
  }

  /** Hands what waits to `write`; settles once everything added so far is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = false;
    if (this.pending.length > 0) {
      const items = this.pending;
      this.pending = [];
      const write = () => this.write(items);
      // After the batch before, whether it was written or not: one failure must not stop every later batch.
      this.written = this.written.then(write, write);
    }
    return this.written;
  }
}
