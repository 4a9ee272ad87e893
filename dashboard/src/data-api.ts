/**
 * The calls of the pages that show what micros did and stored: logs (followed as a stream), the visor, and a
 * project's Base and Drive through the control API (the browser never holds the project's key).
 */
import type { LogView, MicroView, RequestView } from "../../src/shared/api.js";
import { ApiError, call, errorOf, sessionCsrfToken } from "./api";

export type { LogView, RequestView };

export interface ReplayView {
  status: number;
  headers: Record<string, string | string[]>;
  /** base64 */
  body: string;
}

export interface DriveFileView {
  name: string;
  size: number;
  contentType: string;
}

const enc = encodeURIComponent;
const data = (project: string, kind: "bases" | "drives", name: string) =>
  `/projects/${enc(project)}/${kind}/${enc(name)}`;

export const dataApi = {
  requests: (id: string, limit = 100) =>
    call<{ requests: RequestView[] }>("GET", `/micros/${enc(id)}/requests?limit=${limit}`).then((r) => r.requests),
  request: (id: string, rid: number) =>
    call<{ request: RequestView }>("GET", `/micros/${enc(id)}/requests/${rid}`).then((r) => r.request),
  replay: (id: string, rid: number) => call<ReplayView>("POST", `/micros/${enc(id)}/requests/${rid}/replay`),
  setVisor: (id: string, enabled: boolean) =>
    call<{ micro: MicroView }>("PATCH", `/micros/${enc(id)}/visor`, { enabled }).then((r) => r.micro),

  bases: (project: string) =>
    call<{ bases: { name: string; items: number }[] }>("GET", `/projects/${enc(project)}/bases`).then((r) => r.bases),
  items: (project: string, base: string, query: string, last?: string) =>
    call<{ items: Record<string, unknown>[]; last: string | null }>(
      "GET",
      `${data(project, "bases", base)}/items?limit=20&query=${enc(query)}${last ? `&last=${enc(last)}` : ""}`,
    ),
  addItem: (project: string, base: string, item: Record<string, unknown>) =>
    call<{ item: Record<string, unknown> }>("POST", `${data(project, "bases", base)}/items`, { item }),
  putItem: (project: string, base: string, item: Record<string, unknown>) =>
    call<{ item: Record<string, unknown> }>("PUT", `${data(project, "bases", base)}/items`, { item }),
  deleteItem: (project: string, base: string, key: string) =>
    call<void>("DELETE", `${data(project, "bases", base)}/items?key=${enc(key)}`),

  drives: (project: string) =>
    call<{ drives: { name: string; files: number; bytes: number }[] }>("GET", `/projects/${enc(project)}/drives`).then(
      (r) => r.drives,
    ),
  files: (project: string, drive: string, prefix: string, last?: string) =>
    call<{ files: DriveFileView[]; last: string | null }>(
      "GET",
      `${data(project, "drives", drive)}/files?limit=50&prefix=${enc(prefix)}${last ? `&last=${enc(last)}` : ""}`,
    ),
  deleteFile: (project: string, drive: string, name: string) =>
    call<void>("DELETE", `${data(project, "drives", drive)}/files?name=${enc(name)}`),
  /** Where the browser downloads a file from (an attachment, never shown in the page). */
  fileUrl: (project: string, drive: string, name: string) =>
    `/v1${data(project, "drives", drive)}/files/content?name=${enc(name)}`,

  /** Sends the file as the request's body, which the browser streams from disk. */
  async upload(project: string, drive: string, file: File, name: string): Promise<DriveFileView> {
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": file.type || "application/octet-stream",
    };
    const csrf = sessionCsrfToken();
    if (csrf) headers["x-csrf-token"] = csrf;
    let response: Response;
    try {
      response = await fetch(`/v1${data(project, "drives", drive)}/files?name=${enc(name)}`, {
        method: "PUT",
        headers,
        body: file,
        credentials: "same-origin",
      });
    } catch (err) {
      throw new ApiError(0, "ERR_SERVER_UNREACHABLE", `The server could not be reached: ${(err as Error).message}`);
    }
    const parsed: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw errorOf(response.status, parsed);
    return (parsed as { file: DriveFileView }).file;
  },
};

/**
 * Follows a micro's logs: the recent lines, then each new one as it is written, until `signal` aborts. The API
 * answers newline-delimited JSON (blank lines are heartbeats); `onLines` gets each chunk's complete lines.
 */
export async function followLogs(
  id: string,
  onLines: (lines: LogView[]) => void,
  signal: AbortSignal,
  backlog = 500,
): Promise<void> {
  const response = await fetch(`/v1/micros/${enc(id)}/logs?follow=true&limit=${backlog}`, {
    headers: { accept: "application/x-ndjson" },
    credentials: "same-origin",
    signal,
  });
  if (!response.ok || !response.body) {
    throw errorOf(response.status, await response.json().catch(() => undefined));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let partial = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    const parts = (partial + value).split("\n");
    partial = parts.pop() ?? "";
    const lines: LogView[] = [];
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as LogView);
    if (lines.length) onLines(lines);
  }
}
