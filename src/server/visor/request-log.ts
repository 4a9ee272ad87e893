import type { RequestRecord, Requests } from "../store/requests.js";
import { WriteBatch } from "../util/write-batch.js";

/** Requests kept per micro, and for how long: the visor must not grow without end. */
export const VISOR_KEEP = 1000;
export const VISOR_MAX_AGE_MS = 7 * 86_400_000;
/** How much of a body the visor keeps, when it keeps bodies at all. */
export const VISOR_BODY_CAP = 64 * 1024;
/** Never recorded, whatever the micro's settings: they open the micro or the user's session. */
export const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "x-api-key", "cookie"]);

const TRIM_EVERY = 100;
/** Records are written together at most this late (a crash loses at most this window), or 1000 at a time. */
const FLUSH_DELAY_MS = 100;
const FLUSH_AT = 1000;
/** Bytes of records that may wait for the store; records past it are lost (and counted) rather than held. */
const MAX_WAITING_BYTES = 32 * 1024 * 1024;
/** What a record costs besides its bodies: its fields, headers and the objects holding them. */
const RECORD_OVERHEAD = 1024;

/** A request's headers as name/value pairs, without the secret ones. */
export function recordableHeaders(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!SECRET_HEADERS.has(name.toLowerCase())) pairs.push([name, raw[i + 1] as string]);
  }
  return pairs;
}

/** Collects the gateway's request records and writes them in batches, off the request's own path. */
export class RequestLog {
  private readonly batch = new WriteBatch<RequestRecord>({
    delayMs: FLUSH_DELAY_MS,
    maxItems: FLUSH_AT,
    maxWaitingBytes: MAX_WAITING_BYTES,
    sizeOf: (record) => (record.requestBody?.length ?? 0) + (record.responseBody?.length ?? 0) + RECORD_OVERHEAD,
    write: (records) => this.store(records),
    onRoom: () => {
      process.stderr.write(
        `micros: ${this.refused} request records were not kept: the store fell behind the traffic\n`,
      );
      this.refused = 0;
    },
  });
  private readonly written = new Map<string, number>();
  private refused = 0;

  constructor(
    private readonly requests: Requests,
    private readonly now: () => number = Date.now,
  ) {}

  record(record: RequestRecord): void {
    if (!this.batch.add(record)) this.refused++;
  }

  flush(): Promise<void> {
    return this.batch.flush();
  }

  private async store(batch: RequestRecord[]): Promise<void> {
    let stored: RequestRecord[] = [];
    try {
      await this.requests.append(batch);
      stored = batch;
    } catch {
      // A micro deleted meanwhile must not cost the others their records: write them one by one.
      let reason = "";
      for (const record of batch) {
        try {
          await this.requests.append([record]);
          stored.push(record);
        } catch (err) {
          reason = (err as Error).message;
        }
      }
      // A full disk, a micro deleted meanwhile: those records are lost, the platform goes on.
      const lost = batch.length - stored.length;
      if (lost > 0) process.stderr.write(`micros: could not store ${lost} request records: ${reason}\n`);
    }
    for (const { microId } of stored) {
      const count = (this.written.get(microId) ?? 0) + 1;
      this.written.set(microId, count);
      if (count % TRIM_EVERY === 0) await this.trim(microId);
    }
  }

  async trim(microId: string): Promise<void> {
    try {
      await this.requests.trim(microId, VISOR_KEEP, this.now() - VISOR_MAX_AGE_MS);
    } catch (err) {
      // Trimming comes round again in TRIM_EVERY records; a failure now costs only some disk meanwhile.
      process.stderr.write(`micros: could not trim the visor's records of ${microId}: ${(err as Error).message}\n`);
    }
  }
}
