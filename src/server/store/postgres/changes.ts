/**
 * When micros or domains last changed through this process, for the caches the gateway reads on every request
 * (micro by subdomain, custom domain routes). SQLite empties those caches from triggers; PostgreSQL has no such hook
 * into this process, so every write that can change a micro or a domain (cascades from a deleted user or micro
 * included) bumps this counter. One server per database is supported: a write by another process is not seen
 * until this one changes something itself; several nodes on one database need LISTEN/NOTIFY here.
 */
export class Changes {
  private generation = 0;

  get current(): number {
    return this.generation;
  }

  changed(): void {
    this.generation++;
  }
}

/** Values read at some generation, kept only while nothing has changed since they were read. */
export class GenerationCache<K, V> {
  private readonly entries = new Map<K, V>();
  private generation: number;

  constructor(private readonly changes: Changes) {
    this.generation = changes.current;
  }

  get(key: K): V | undefined {
    this.dropIfStale();
    return this.entries.get(key);
  }

  /** Keeps `value` only if no write happened between `readAt` (taken before the query) and now. */
  set(key: K, value: V, readAt: number): void {
    this.dropIfStale();
    if (readAt === this.generation) this.entries.set(key, value);
  }

  private dropIfStale(): void {
    if (this.generation === this.changes.current) return;
    this.entries.clear();
    this.generation = this.changes.current;
  }
}
