/**
 * The dashboard's client of the control API (/v1, docs/api.md), with the session cookie the browser sends by
 * itself. Every state-changing call carries the session's CSRF token; the API's `{"error":{code,message}}` answers
 * become thrown `ApiError`s, matched on `code`.
 */
import type {
  ApiKeyView,
  CronView,
  MicroView,
  ReleaseView,
  RequestSummaryView,
  SessionView,
} from "../../src/shared/api.js";

export type { ApiKeyView, CronView, MicroView, ReleaseView, RequestSummaryView, SessionView };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let csrfToken: string | null = null;
const signedOutListeners = new Set<() => void>();

/** Keeps the session's CSRF token (from sign-in or GET /v1/session) for the calls that need it. */
export function keepSession(session: SessionView | null): void {
  csrfToken = session?.csrfToken ?? null;
}

/** The session's CSRF token, for a call whose body is not JSON (a Drive upload) and so cannot go through `call`. */
export function sessionCsrfToken(): string | null {
  return csrfToken;
}

/** Called when the API says the session is gone (signed out elsewhere, the token revoked or expired). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function errorOf(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return new ApiError(status, error.code, error.message, error.details as Record<string, unknown> | undefined);
  }
  return new ApiError(status, "ERR_INTERNAL", `The server answered ${status} without an error we can read.`);
}

/** One call to the control API: `path` is under /v1. Resolves with the parsed JSON (undefined for 204). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, "ERR_SERVER_UNREACHABLE", `The server could not be reached: ${(err as Error).message}`);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = errorOf(response.status, parsed);
    // Any 401 (a revoked or expired token, a cleared cookie) ends the session; the sign-in call's own is its answer.
    if (response.status === 401 && path !== "/session") for (const listener of signedOutListeners) listener();
    throw error;
  }
  return parsed as T;
}

const enc = encodeURIComponent;

/** The calls the dashboard makes, one per API route it uses. */
export const api = {
  session: () => call<SessionView>("GET", "/session"),
  signIn: (token: string) => call<SessionView>("POST", "/session", { token }),
  signOut: () => call<void>("DELETE", "/session"),

  micros: () => call<{ micros: MicroView[] }>("GET", "/micros").then((r) => r.micros),
  requestSummary: (minutes = 60) => call<RequestSummaryView>("GET", `/requests/summary?minutes=${minutes}`),
  micro: (id: string) => call<{ micro: MicroView }>("GET", `/micros/${enc(id)}`).then((r) => r.micro),
  deleteMicro: (id: string) => call<void>("DELETE", `/micros/${enc(id)}`),

  releases: (id: string) =>
    call<{ releases: ReleaseView[] }>("GET", `/micros/${enc(id)}/releases`).then((r) => r.releases),
  rollback: (id: string, release: string) =>
    call<{ micro: MicroView }>("POST", `/micros/${enc(id)}/rollback`, { release }).then((r) => r.micro),

  /** Sets and removes variables by name; values are never read back. */
  patchEnv: (id: string, change: { set?: Record<string, string>; remove?: string[] }) =>
    call<{ envVars: string[] }>("PATCH", `/micros/${enc(id)}/env`, change).then((r) => r.envVars),

  setLimits: (
    id: string,
    limits: { memoryMb?: number | null; timeoutSeconds?: number | null; requestBodyMb?: number | null },
  ) => call<{ micro: MicroView }>("PATCH", `/micros/${enc(id)}/limits`, limits).then((r) => r.micro),

  setCron: (id: string, expression: string) =>
    call<{ micro: MicroView }>("PUT", `/micros/${enc(id)}/cron`, { expression }).then((r) => r.micro),
  removeCron: (id: string) => call<void>("DELETE", `/micros/${enc(id)}/cron`),
  runCron: (id: string) =>
    call<{ ok: boolean; durationMs: number; result?: unknown; error?: unknown }>(
      "POST",
      `/micros/${enc(id)}/cron/trigger`,
    ),

  setHttpAuth: (id: string, enabled: boolean) =>
    call<{ micro: MicroView }>("PATCH", `/micros/${enc(id)}/auth`, { enabled }).then((r) => r.micro),
  apiKeys: (id: string) => call<{ apiKeys: ApiKeyView[] }>("GET", `/micros/${enc(id)}/api-keys`).then((r) => r.apiKeys),
  createApiKey: (id: string, name: string, description: string) =>
    call<{ apiKey: ApiKeyView & { key: string } }>("POST", `/micros/${enc(id)}/api-keys`, { name, description }).then(
      (r) => r.apiKey,
    ),
  deleteApiKey: (id: string, name: string) => call<void>("DELETE", `/micros/${enc(id)}/api-keys/${enc(name)}`),
};
