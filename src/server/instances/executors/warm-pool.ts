/** Something started ahead of need: usable while alive, discarded when the pool closes. */
export interface Warm {
  readonly alive: boolean;
  discard(): Promise<void>;
}

/** After a launch takes from the pool, its refill waits this long so it does not compete with that launch. */
const REFILL_DELAY_MS = 150;

/**
 * Keeps `size` things per key started and waiting. Launches take one (even
 * one still starting: it is further along than a new one) and the pool makes
 * a replacement in the background, one at a time, so preparing ahead never
 * takes both cores from the instances serving requests.
 */
export class WarmPool<T extends Warm> {
  private readonly waiting = new Map<string, Promise<T | undefined>[]>();
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

  /** A warm one for the key, or undefined when the pool has none (or does not keep this key). */
  async take(key: string): Promise<T | undefined> {
    const entries = this.waiting.get(key);
    if (!entries) return undefined;
    let found: T | undefined;
    while (!found && entries.length > 0) {
      const candidate = await (entries.shift() as Promise<T | undefined>);
      if (candidate?.alive) found = candidate;
      else void candidate?.discard();
    }
    setTimeout(() => this.refill(key), REFILL_DELAY_MS).unref();
    return found;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.waiting.values()].flat();
    this.waiting.clear();
    await Promise.all(all.map(async (entry) => (await entry)?.discard()));
  }

  private refill(key: string): void {
    const entries = this.waiting.get(key);
    if (!entries || this.closed) return;
    while (entries.length < this.size) {
      const made = this.queue.then(async () => {
        if (this.closed) return undefined;
        try {
          return await this.make(key);
        } catch (err) {
          this.onError(key, err);
          return undefined;
        }
      });
      this.queue = made.then(() => {});
      entries.push(made);
    }
  }
}
