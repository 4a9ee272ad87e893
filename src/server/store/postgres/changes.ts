import pg from "pg";

/** The channel the database's triggers notify on when micros or domains change (migration 2). */
export const CHANGES_CHANNEL = "micros_changes";

/**
 * The channel servers tell each other what no table's cache shows on: instances to retire, a project key to forget.
 * Its payloads are JSON; whoever listens validates them.
 */
export const EVENTS_CHANNEL = "micros_events";

/** What an events listener hears: a payload, or that payloads may have been missed while nothing listened. */
export type EventListener = (event: { payload: string } | { missed: true }) => void;

/** How long a lost listener waits before it connects again. */
const RECONNECT_MS = 1000;

/**
 * When micros or domains last changed, for the caches the gateway reads on every request (micro by subdomain, custom
 * domain routes). SQLite empties those caches from triggers in this process; here every write through this process
 * bumps the counter at once, and a listener hears the triggers' NOTIFY for writes by any server on the database,
 * cascades included. While nothing listens (before the first connection, or after it was lost until the next one)
 * the caches keep nothing, so a write elsewhere is never missed, only read afresh.
 */
export class Changes {
  private generation = 0;
  private listening = false;
  /** Whether the feed has listened before: connecting again after a loss may have missed events. */
  private listenedBefore = false;
  private readonly listeners = new Set<EventListener>();

  get current(): number {
    return this.generation;
  }

  /** Whether writes by other servers are heard now, so that what is read may be kept. */
  get live(): boolean {
    return this.listening;
  }

  changed(): void {
    this.generation++;
  }

  setLive(live: boolean): void {
    this.listening = live;
    this.changed();
    if (live && this.listenedBefore) this.deliver({ missed: true });
    if (live) this.listenedBefore = true;
  }

  /** Hears every event on EVENTS_CHANNEL from now on; returns how to stop. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  deliver(event: { payload: string } | { missed: true }): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Listens on one connection of its own for the database's change notifications; connects again when it is lost. */
export class ChangeFeed {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly url: string,
    private readonly changes: Changes,
  ) {}

  /** Starts listening; fails, as opening the store does, when the database cannot be reached. */
  static async start(url: string, changes: Changes): Promise<ChangeFeed> {
    const feed = new ChangeFeed(url, changes);
    await feed.connect();
    return feed;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.changes.setLive(false);
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("notification", (message) => {
      if (message.channel === EVENTS_CHANNEL) this.changes.deliver({ payload: message.payload ?? "" });
      else this.changes.changed();
    });
    // A connection that errors also ends; whichever comes first counts once.
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.changes.setLive(true);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.changes.setLive(false);
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => this.connect().catch(() => this.retry()), RECONNECT_MS);
  }
}

/** Values read at some generation, kept only while nothing has changed since they were read and changes are heard. */
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
    if (readAt === this.generation && this.changes.live) this.entries.set(key, value);
  }

  private dropIfStale(): void {
    if (this.generation === this.changes.current) return;
    this.entries.clear();
    this.generation = this.changes.current;
  }
}
