/** Something started ahead of need: usable while alive, discarded when the pool closes. */
export interface Warm {
  readonly alive: boolean;
  discard(): Promise<void>;
}

/** After a launch takes from the pool, its refill waits this long so it does not compete with that launch. */
const REFILL_DELAY_MS = 150;

/** One thing the pool keeps: queued behind others, being made, or made (or failed: then undefined). */
interface Entry<T> {
  stage: "queued" | "making" | "made";
  made: Promise<T | undefined>;
  /** What was made, once it is (for counting without waiting). */
  warm?: T | undefined;
}

/**
 * Keeps `size` things per key started and waiting. A launch takes a made one, or else the one being made (it is
 * further along than a new one), never one still queued: the pool makes one at a time, so preparing ahead never
 * takes both cores from the instances serving requests, and a launch that waited behind the queue would wait for
 * every start before it (a burst of cold starts would start one after the other). Without one, the launch makes
 * its own, alongside. The pool makes a replacement in the background.
 */
export class WarmPool<T extends Warm> {
  private readonly waiting = new Map<string, Entry<T>[]>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly make: (key: string) => Promise<T>,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  /** Starts keeping these keys warm. */
  keep(keys: readonly string[]): void {
    for (const key of keys) {
      if (!this.waiting.has(key)) this.waiting.set(key, []);
      this.refill(key);
    }
  }

  /** A warm one for the key, or undefined when the pool has none ready or being made (or does not keep this key). */
  async take(key: string): Promise<T | undefined> {
    const entries = this.waiting.get(key);
    if (!entries) return undefined;
    let found: T | undefined;
    for (;;) {
      const made = entries.findIndex((entry) => entry.stage === "made");
      const at = made !== -1 ? made : entries.findIndex((entry) => entry.stage === "making");
      if (at === -1) break;
      const [entry] = entries.splice(at, 1) as [Entry<T>];
      const candidate = await entry.made;
      if (candidate?.alive) {
        found = candidate;
        break;
      }
      void candidate?.discard();
    }
    setTimeout(() => this.refill(key), REFILL_DELAY_MS).unref();
    return found;
  }

  /** Per key, how many are made and alive (`ready`) and how many are queued or being made (`preparing`). */
  counts(): { key: string; ready: number; preparing: number }[] {
    return [...this.waiting].map(([key, entries]) => ({
      key,
      ready: entries.filter((entry) => entry.stage === "made" && entry.warm?.alive).length,
      preparing: entries.filter((entry) => entry.stage !== "made").length,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.waiting.values()].flat();
    this.waiting.clear();
    await Promise.all(all.map(async (entry) => (await entry.made)?.discard()));
  }

  private refill(key: string): void {
    const entries = this.waiting.get(key);
    if (!entries || this.closed) return;
    while (entries.length < this.size) {
      const entry: Entry<T> = { stage: "queued", made: Promise.resolve(undefined) };
      entry.made = this.queue.then(async () => {
        if (this.closed) return undefined;
        entry.stage = "making";
        try {
          entry.warm = await this.make(key);
          return entry.warm;
        } catch (err) {
          this.onError(key, err);
          return undefined;
        } finally {
          entry.stage = "made";
        }
      });
      this.queue = entry.made.then(() => {});
      entries.push(entry);
    }
  }
}
