/**
 * Where a request's time went, in ms: until the instance's first byte of the answer once it had the request, and for
 * a cold start, the start's phases (sandbox, code, app load).
 */
export interface RequestTimings {
  firstByteMs?: number;
  sandboxMs?: number;
  codeMs?: number;
  loadMs?: number;
}

export interface RequestRecord {
  microId: string;
  ts: number;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  instanceId: string | null;
  cold: boolean;
  timings: RequestTimings | null;
  /** The client's address, through trusted proxies (--trust-proxy); absent in records from before it was kept. */
  client?: string | null;
  /** Recorded only while the micro's visor is on, without credentials. */
  requestHeaders: [string, string][] | null;
  requestBody: Buffer | null;
  responseBody: Buffer | null;
}

export type StoredRequest = RequestRecord & { id: number };

export interface RequestRow {
  id: number;
  micro_id: string;
  ts: number;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  request_bytes: number;
  response_bytes: number;
  instance_id: string | null;
  cold: number | boolean;
  timings: string | null;
  client: string | null;
  request_headers: string | null;
  request_body: Buffer | null;
  response_body: Buffer | null;
}

export const toRequest = (row: RequestRow): StoredRequest => ({
  id: row.id,
  microId: row.micro_id,
  ts: row.ts,
  method: row.method,
  path: row.path,
  status: row.status,
  durationMs: row.duration_ms,
  requestBytes: row.request_bytes,
  responseBytes: row.response_bytes,
  instanceId: row.instance_id,
  cold: Boolean(row.cold),
  timings: row.timings ? (JSON.parse(row.timings) as RequestTimings) : null,
  client: row.client,
  requestHeaders: row.request_headers ? (JSON.parse(row.request_headers) as [string, string][]) : null,
  requestBody: row.request_body,
  responseBody: row.response_body,
});

/** One row of a request record, in the order both stores' inserts take their columns. */
export function requestValues(r: RequestRecord): unknown[] {
  return [
    r.microId,
    r.ts,
    r.method,
    r.path,
    r.status,
    r.durationMs,
    r.requestBytes,
    r.responseBytes,
    r.instanceId,
    r.cold,
    r.timings ? JSON.stringify(r.timings) : null,
    r.requestHeaders ? JSON.stringify(r.requestHeaders) : null,
    r.requestBody,
    r.responseBody,
    r.client ?? null,
  ];
}

export const REQUEST_COLUMNS =
  "micro_id, ts, method, path, status, duration_ms, request_bytes, response_bytes, instance_id, cold, timings, request_headers, request_body, response_body, client";

/** The visor's table: requests per micro, newest kept, oldest trimmed. */
export interface Requests {
  append(records: readonly RequestRecord[]): Promise<void>;
  /** The newest `limit` requests, oldest first. */
  list(microId: string, limit: number): Promise<StoredRequest[]>;
  /**
   * How many requests each of an owner's micros served since `since`, and how many of them were 5xx errors. Read
   * from the index by micro and time alone (it holds the status too), never from the rows and their bodies.
   */
  countsSince(ownerId: string, since: number): Promise<{ microId: string; requests: number; errors: number }[]>;
  byId(microId: string, id: number): Promise<StoredRequest | undefined>;
  /** Keeps at most `keep` requests of a micro and none older than `since`. */
  trim(microId: string, keep: number, since: number): Promise<void>;
}
