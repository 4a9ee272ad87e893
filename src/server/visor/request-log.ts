import type { RequestRecord, Requests } from "../store/requests.js";

/** Requests kept per micro, and for how long: the visor must not grow without end. */
export const VISOR_KEEP = 1000;
export const VISOR_MAX_AGE_MS = 7 * 86_400_000;
/** How much of a body the visor keeps, when it keeps bodies at all. */
export const VISOR_BODY_CAP = 64 * 1024;
/** Never recorded, whatever the micro's settings: they open the micro or the user's session. */
export const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "x-api-key", "cookie"]);

const TRIM_EVERY = 100;

/** A request's headers as name/value pairs, without the secret ones. */
export function recordableHeaders(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!SECRET_HEADERS.has(name.toLowerCase())) pairs.push([name, raw[i + 1] as string]);
  }
  return pairs;
}

/**
 * Collects the gateway's request records and writes them in batches, one
 * transaction per tick, off the request's own path.
 */
export class RequestLog {
  private pending: RequestRecord[] = [];
  private scheduled = false;
  private readonly written = new Map<string, number>();

  constructor(
    private readonly requests: Requests,
    private readonly now: () => number = Date.now,
  ) {}

  record(record: RequestRecord): void {
    this.pending.push(record);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.requests.append(batch);
    } catch (err) {
      // A micro deleted meanwhile, a full disk: the records are lost, the platform goes on.
      process.stderr.write(`micros: could not store ${batch.length} request records: ${(err as Error).message}\n`);
      return;
    }
    for (const { microId } of batch) {
      const count = (this.written.get(microId) ?? 0) + 1;
      this.written.set(microId, count);
      if (count % TRIM_EVERY === 0) this.trim(microId);
    }
  }

  trim(microId: string): void {
    this.requests.trim(microId, VISOR_KEEP, this.now() - VISOR_MAX_AGE_MS);
  }
}
