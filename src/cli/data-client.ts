import type { BaseView, DriveView, ProjectKeyView } from "../shared/api.js";
import { type ErrorBody, type ErrorCode, isErrorCode, MicrosError } from "../shared/errors.js";
import type { CliContext } from "./context.js";
import { type Credentials, loadCredentials } from "./credentials.js";
import { findMicro } from "./local-state.js";

/** Deta's limits, which the commands keep to as the SDKs do. */
export const PUT_BATCH = 25;
export const DRIVE_CHUNK_BYTES = 10 * 1024 * 1024;
export const DELETE_BATCH = 1000;

export type Item = Record<string, unknown>;

export interface QueryPage {
  items: Item[];
  paging: { size: number; last?: string };
}

/** The codes the CLI reports the data services' answers with (they speak Deta's `{"errors": [...]}`). */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: "ERR_VALIDATION",
  401: "ERR_UNAUTHORIZED",
  404: "ERR_NOT_FOUND",
  409: "ERR_NAME_TAKEN",
  413: "ERR_PAYLOAD_TOO_LARGE",
  507: "ERR_STORAGE_FULL",
};

/**
 * How the CLI reaches a project's bases and drives: it asks the control API, with the user's access token, for the
 * project's key (only its owner gets it), then calls the Base and Drive services on the same host (`/base`,
 * `/drive`) with that key, exactly as a micro or a script with the SDK would. The bases and drives a project has are
 * the control API's to list, as the data services have no such call.
 */
export class DataClient {
  private constructor(
    private readonly credentials: Credentials,
    readonly project: string,
    private readonly projectId: string,
    private readonly key: string,
  ) {}

  /** For `--project`, else the project of the micro in the current folder, else `default`. */
  static async open(ctx: CliContext, project: string | undefined): Promise<DataClient> {
    const credentials = await loadCredentials(ctx);
    const name =
      project ??
      (await findMicro(ctx.cwd).then(
        ({ micro }) => micro.project,
        () => "default",
      ));
    const answer = await send(credentials, "GET", `/v1/projects/${encodeURIComponent(name)}/key`, {
      authorization: `Bearer ${credentials.token}`,
    });
    const { project: view, key } = (await answer.json()) as ProjectKeyView;
    return new DataClient(credentials, view.name, view.id, key);
  }

  async listBases(): Promise<BaseView[]> {
    const answer = await this.control(`/v1/projects/${encodeURIComponent(this.project)}/bases`);
    return ((await answer.json()) as { bases: BaseView[] }).bases;
  }

  async listDrives(): Promise<DriveView[]> {
    const answer = await this.control(`/v1/projects/${encodeURIComponent(this.project)}/drives`);
    return ((await answer.json()) as { drives: DriveView[] }).drives;
  }

  private control(path: string): Promise<Response> {
    return send(this.credentials, "GET", path, { authorization: `Bearer ${this.credentials.token}` });
  }

  private data(
    service: "base" | "drive",
    name: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    missing?: (answer: unknown) => boolean,
  ): Promise<Response> {
    const url = `/${service}/v1/${this.projectId}/${encodeURIComponent(name)}${path}`;
    const json = body !== undefined && !(body instanceof Uint8Array);
    return send(
      this.credentials,
      method,
      url,
      { "x-api-key": this.key, ...(json && { "content-type": "application/json" }), ...headers },
      json ? JSON.stringify(body) : (body as Uint8Array | undefined),
      missing,
    );
  }

  /** Up to 25 items, stored together. */
  async putItems(base: string, items: Item[]): Promise<Item[]> {
    const answer = await this.data("base", base, "PUT", "/items", { items });
    return ((await answer.json()) as { processed: { items: Item[] } }).processed.items;
  }

  async getItem(base: string, key: string): Promise<Item | undefined> {
    // Base answers a missing item 404 with its key.
    const answer = await this.data("base", base, "GET", `/items/${encodeURIComponent(key)}`, undefined, {}, (body) =>
      Object.hasOwn(Object(body), "key"),
    );
    return answer.status === 404 ? undefined : ((await answer.json()) as Item);
  }

  async deleteItem(base: string, key: string): Promise<void> {
    await this.data("base", base, "DELETE", `/items/${encodeURIComponent(key)}`);
  }

  async query(base: string, query: unknown, options: { limit?: number; last?: string; desc?: boolean }) {
    const answer = await this.data("base", base, "POST", "/query", {
      query,
      ...(options.limit !== undefined && { limit: options.limit }),
      ...(options.last !== undefined && { last: options.last }),
      ...(options.desc && { sort: "desc" }),
    });
    return (await answer.json()) as QueryPage;
  }

  /** Every matching item, page after page (a page may be empty and still have a next), up to `limit`. */
  async *queryAll(base: string, query: unknown, options: { limit?: number; desc?: boolean } = {}) {
    let last: string | undefined;
    let left = options.limit ?? Number.POSITIVE_INFINITY;
    do {
      const page = await this.query(base, query, {
        ...(Number.isFinite(left) && { limit: left }),
        ...(last !== undefined && { last }),
        ...(options.desc && { desc: true }),
      });
      for (const item of page.items) yield item;
      left -= page.items.length;
      last = page.paging.last;
    } while (last !== undefined && left > 0);
  }

  async listFiles(drive: string, options: { prefix?: string; last?: string }) {
    const query = new URLSearchParams({ limit: "1000", prefix: options.prefix ?? "" });
    if (options.last) query.set("last", options.last);
    const answer = await this.data("drive", drive, "GET", `/files?${query}`);
    return (await answer.json()) as { names: string[]; paging?: { last?: string } };
  }

  async *allFiles(drive: string, prefix?: string): AsyncGenerator<string> {
    let last: string | undefined;
    do {
      const page = await this.listFiles(drive, { ...(prefix && { prefix }), ...(last && { last }) });
      yield* page.names;
      last = page.paging?.last;
    } while (last);
  }

  /**
   * Stores a file: at most 10 MB in one request, more in parts of 10 MB (as the SDKs upload), read from `read` a
   * part at a time so a large file is never wholly in memory.
   */
  async putFile(
    drive: string,
    name: string,
    size: number,
    read: (offset: number, length: number) => Promise<Uint8Array>,
    contentType?: string,
  ): Promise<void> {
    const named = `?name=${encodeURIComponent(name)}`;
    const type: Record<string, string> = contentType ? { "content-type": contentType } : {};
    if (size <= DRIVE_CHUNK_BYTES) {
      await this.data("drive", drive, "POST", `/files${named}`, await read(0, size), type);
      return;
    }
    const started = await this.data("drive", drive, "POST", `/uploads${named}`, undefined, type);
    const { upload_id: id } = (await started.json()) as { upload_id: string };
    try {
      for (let offset = 0, part = 1; offset < size; offset += DRIVE_CHUNK_BYTES, part++) {
        const chunk = await read(offset, Math.min(DRIVE_CHUNK_BYTES, size - offset));
        await this.data("drive", drive, "POST", `/uploads/${id}/parts${named}&part=${part}`, chunk, type);
      }
      await this.data("drive", drive, "PATCH", `/uploads/${id}${named}`);
    } catch (err) {
      await this.data("drive", drive, "DELETE", `/uploads/${id}${named}`).catch(() => {});
      throw err;
    }
  }

  /** The file's answer, to stream its body; undefined when there is no such file. */
  async getFile(drive: string, name: string): Promise<Response | undefined> {
    const path = `/files/download?name=${encodeURIComponent(name)}`;
    const answer = await this.data(
      "drive",
      drive,
      "GET",
      path,
      undefined,
      {},
      (body) => (body as { errors?: string[] } | undefined)?.errors?.includes("File not found") === true,
    );
    return answer.status === 404 ? undefined : answer;
  }

  async deleteFiles(drive: string, names: string[]): Promise<string[]> {
    const answer = await this.data("drive", drive, "DELETE", "/files", { names });
    return ((await answer.json()) as { deleted: string[] }).deleted;
  }
}

/**
 * One request; a failure becomes a MicrosError. A 404 that `missing` recognizes (the data service saying an item
 * or file is not there, rather than that there is no such route) is an answer.
 */
async function send(
  credentials: Credentials,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Uint8Array,
  missing?: (answer: unknown) => boolean,
): Promise<Response> {
  let answer: Response;
  try {
    answer = await fetch(`${credentials.host}${path}`, { method, headers, body });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new MicrosError(
      "ERR_SERVER_UNREACHABLE",
      `Could not reach the Micros server at ${credentials.host} (${cause?.code ?? cause?.message ?? (err as Error).message}). Is \`micros server\` running there?`,
      { cause: err },
    );
  }
  if (answer.ok) return answer;
  const text = await answer.text();
  const parsed = parse(text);
  if (answer.status === 404 && missing?.(parsed)) return new Response(null, { status: 404 });
  throw failure(answer, text, parsed);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function failure(answer: Response, text: string, parsed: unknown): MicrosError {
  const control = (parsed as ErrorBody | undefined)?.error;
  if (control && isErrorCode(control.code)) {
    return new MicrosError(control.code, control.message, control.details ? { details: control.details } : {});
  }
  const deta = (parsed as { errors?: unknown[] } | undefined)?.errors;
  const code = CODE_BY_STATUS[answer.status];
  if (Array.isArray(deta) && code) return new MicrosError(code, deta.map(String).join("; "));
  if (answer.status === 413)
    return new MicrosError("ERR_PAYLOAD_TOO_LARGE", "The server refused the body as too large.");
  return new MicrosError(
    "ERR_SERVER_UNREACHABLE",
    `The server answered ${answer.status} ${answer.statusText} with something that is not a Micros answer: ${text.slice(0, 200)}`,
  );
}
