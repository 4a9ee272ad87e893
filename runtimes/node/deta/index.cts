/**
 * The `deta` library Deta pre-installed in every micro, for apps that do not
 * ship their own: `const { Deta, Base, Drive, App, app } = require("deta")`.
 * Base and Drive speak Deta's HTTP API (docs/api.md) as Deta's JavaScript SDK
 * 1.x did; `App(app)` adds `app.lib.cron` and `app.lib.run`, registered with the
 * runner's `micros` events. Node built-ins only: it runs next to the app.
 *
 * CommonJS, so `require("deta")` and `import "deta"` both load it; the runner
 * hands it out only when the app's own `deta` does not resolve (resolve.mts).
 */

type Item = Record<string, unknown>;
type Answer = { status: number; body: unknown; response: Response };

function isObject(value: unknown): value is Item {
  return Object.prototype.toString.call(value) === "[object Object]";
}

function keyOf(projectKey?: string): string {
  const key = (projectKey ?? process.env.DETA_PROJECT_KEY ?? "").trim();
  if (!key) throw new Error("Project key is not defined");
  return key;
}

/** One HTTP call to a Base or a Drive; a failure throws Deta's first error message, as the SDK did. */
async function call(url: string, key: string, method: string, body?: unknown, type?: string): Promise<Answer> {
  const raw = body instanceof Uint8Array || body === undefined;
  const response = await fetch(url, {
    method,
    headers: { "X-API-Key": key, "Content-Type": type ?? "application/json" },
    body: raw ? (body as Uint8Array | undefined) : JSON.stringify(body),
  });
  const text = response.headers.get("content-type")?.includes("json") ? await response.clone().text() : "";
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, response };
}

function failure(answer: Answer): Error {
  const errors = (answer.body as { errors?: unknown[] } | null)?.errors;
  return new Error(typeof errors?.[0] === "string" ? errors[0] : `Something went wrong (HTTP ${answer.status})`);
}

class Action {
  constructor(
    readonly operation: "set" | "increment" | "append" | "prepend" | "trim",
    readonly value?: unknown,
  ) {}
}

class Util {
  trim(): Action {
    return new Action("trim");
  }
  increment(value = 1): Action {
    return new Action("increment", value);
  }
  append(value: unknown): Action {
    return new Action("append", Array.isArray(value) ? value : [value]);
  }
  prepend(value: unknown): Action {
    return new Action("prepend", Array.isArray(value) ? value : [value]);
  }
}

interface ExpireOptions {
  expireIn?: number;
  expireAt?: Date | number;
}

function withExpiry(item: Item, options?: ExpireOptions | null): Item {
  if (options?.expireIn != null && options.expireAt != null) {
    throw new Error("can't set both expireIn and expireAt options");
  }
  if (options?.expireIn != null) return { ...item, __expires: Math.floor(Date.now() / 1000) + options.expireIn };
  if (options?.expireAt != null) {
    const at = options.expireAt instanceof Date ? options.expireAt.getTime() / 1000 : options.expireAt;
    return { ...item, __expires: Math.floor(at) };
  }
  return item;
}

function toItem(data: unknown, key?: string): Item {
  return { ...(isObject(data) ? data : { value: data }), ...(key ? { key } : {}) };
}

function trimmed(value: string, what: string): string {
  const result = value.trim();
  if (!result) throw new Error(`${what} is empty`);
  return encodeURIComponent(result);
}

function root(key: string, host: string | undefined, fallback: string | undefined, service: string, name: string) {
  const trimmedName = name.trim();
  if (!trimmedName) throw new Error(`${service} name is not defined`);
  const where = host?.trim() || fallback?.trim() || `${service === "Base" ? "database" : "drive"}.deta.sh`;
  return `https://${where}/v1/${key.split("_")[0]}/${trimmedName}`;
}

class Base {
  readonly util = new Util();
  private readonly url: string;

  constructor(
    private readonly key: string,
    name: string,
    host?: string,
  ) {
    this.url = root(key, host, process.env.DETA_BASE_HOST, "Base", name);
  }

  private async send(method: string, path: string, body?: unknown): Promise<Answer> {
    return call(this.url + path, this.key, method, body);
  }

  async put(data: unknown, key?: string, options?: ExpireOptions): Promise<Item | null> {
    const answer = await this.send("PUT", "/items", { items: [withExpiry(toItem(data, key), options)] });
    if (answer.status >= 400) throw failure(answer);
    return (answer.body as { processed?: { items?: Item[] } }).processed?.items?.[0] ?? null;
  }

  async putMany(items: unknown[], options?: ExpireOptions): Promise<unknown> {
    if (!Array.isArray(items)) throw new Error("Items must be an array");
    if (!items.length) throw new Error("Items can't be empty");
    if (items.length > 25) throw new Error("We can't put more than 25 items at a time");
    const answer = await this.send("PUT", "/items", { items: items.map((item) => withExpiry(toItem(item), options)) });
    if (answer.status >= 400) throw failure(answer);
    return answer.body;
  }

  async get(key: string): Promise<Item | null> {
    const answer = await this.send("GET", `/items/${trimmed(key, "Key")}`);
    if (answer.status === 404) return null;
    if (answer.status >= 400) throw failure(answer);
    return answer.body as Item;
  }

  async delete(key: string): Promise<null> {
    const answer = await this.send("DELETE", `/items/${trimmed(key, "Key")}`);
    if (answer.status >= 400) throw failure(answer);
    return null;
  }

  async insert(data: unknown, key?: string, options?: ExpireOptions): Promise<Item> {
    const item = withExpiry(toItem(data, key), options);
    const answer = await this.send("POST", "/items", { item });
    if (answer.status === 409) throw new Error(`Item with key ${String(item.key)} already exists`);
    if (answer.status >= 400) throw failure(answer);
    return answer.body as Item;
  }

  async update(updates: Item, key: string, options?: ExpireOptions): Promise<null> {
    const payload = {
      // An expiry is one more value to set, as in Deta's SDK.
      set: withExpiry({}, options),
      increment: {} as Item,
      append: {} as Item,
      prepend: {} as Item,
      delete: [] as string[],
    };
    for (const [field, value] of Object.entries(updates)) {
      const action = value instanceof Action ? value : new Action("set", value);
      if (action.operation === "trim") payload.delete.push(field);
      else payload[action.operation][field] = action.value;
    }
    const answer = await this.send("PATCH", `/items/${trimmed(key, "Key")}`, payload);
    if (answer.status >= 400) throw failure(answer);
    return null;
  }

  /** One page: `{ items, count, last }`; pass `last` back to get the next one, as Deta's SDK 1.x did. */
  async fetch(
    query: Item | Item[] = [],
    options?: { limit?: number; last?: string; desc?: boolean } | null,
  ): Promise<{ items: Item[]; count: number; last?: string }> {
    const { limit = 1000, last, desc = false } = options ?? {};
    const body = { query: Array.isArray(query) ? query : [query], limit, last, ...(desc ? { sort: "desc" } : {}) };
    const answer = await this.send("POST", "/query", body);
    if (answer.status >= 400) throw failure(answer);
    const { items, paging } = answer.body as { items: Item[]; paging: { size: number; last?: string } };
    return { items, count: paging.size, ...(paging.last ? { last: paging.last } : {}) };
  }
}

class Drive {
  private readonly url: string;

  constructor(
    private readonly key: string,
    name: string,
    host?: string,
  ) {
    this.url = root(key, host, process.env.DETA_DRIVE_HOST, "Drive", name);
  }

  /** `data` (a string, Buffer or Uint8Array) or `path` (a file to read); answers the name. */
  async put(
    name: string,
    options: { data?: string | Uint8Array; path?: string; contentType?: string },
  ): Promise<string> {
    const encoded = trimmed(name, "Name");
    if (options.path && options.data) throw new Error("Please only provide data or a path. Not both");
    if (!options.path && options.data === undefined) throw new Error("Please provide data or a path. Both are empty");
    const { readFile } = require("node:fs/promises") as typeof import("node:fs/promises");
    const bytes = options.path
      ? new Uint8Array(await readFile(options.path))
      : typeof options.data === "string"
        ? new TextEncoder().encode(options.data)
        : (options.data as Uint8Array);
    const type = options.contentType ?? "binary/octet-stream";
    const chunk = 10 * 1024 * 1024;
    if (bytes.byteLength <= chunk) {
      const answer = await call(`${this.url}/files?name=${encoded}`, this.key, "POST", bytes, type);
      if (answer.status >= 400) throw failure(answer);
      return name;
    }
    const started = await call(`${this.url}/uploads?name=${encoded}`, this.key, "POST", undefined, type);
    if (started.status >= 400) throw failure(started);
    const id = (started.body as { upload_id: string }).upload_id;
    for (let part = 1, at = 0; at < bytes.byteLength; part++, at += chunk) {
      const sent = await call(
        `${this.url}/uploads/${id}/parts?name=${encoded}&part=${part}`,
        this.key,
        "POST",
        bytes.subarray(at, at + chunk),
        type,
      );
      if (sent.status >= 400) throw failure(sent);
    }
    const done = await call(`${this.url}/uploads/${id}?name=${encoded}`, this.key, "PATCH");
    if (done.status >= 400) throw failure(done);
    return name;
  }

  /** The file as a Blob, or null when there is none. */
  async get(name: string): Promise<Blob | null> {
    const answer = await call(`${this.url}/files/download?name=${trimmed(name, "Name")}`, this.key, "GET");
    if (answer.status === 404) return null;
    if (answer.status >= 400) throw failure(answer);
    return answer.response.blob();
  }

  /** Names under `prefix`; with `recursive: false`, a folder's files are one name ending in `/`, as on Deta. */
  async list(
    options?: { prefix?: string; limit?: number; last?: string; recursive?: boolean } | null,
  ): Promise<unknown> {
    const { prefix = "", limit = 1000, last = "", recursive = true } = options ?? {};
    const query = new URLSearchParams({ prefix, recursive: String(recursive), limit: String(limit), last });
    const answer = await call(`${this.url}/files?${query}`, this.key, "GET");
    if (answer.status >= 400) throw failure(answer);
    return answer.body;
  }

  async delete(name: string): Promise<string> {
    if (!name.trim()) throw new Error("Name is empty");
    const answer = await call(`${this.url}/files`, this.key, "DELETE", { names: [name] });
    if (answer.status >= 400) throw failure(answer);
    return (answer.body as { deleted?: string[] }).deleted?.[0] ?? name;
  }

  async deleteMany(names: string[]): Promise<unknown> {
    if (!names.length) throw new Error("Names can't be empty");
    if (names.length > 1000) throw new Error("We can't delete more than 1000 items at a time");
    const answer = await call(`${this.url}/files`, this.key, "DELETE", { names });
    if (answer.status >= 400) throw failure(answer);
    return answer.body;
  }
}

function Deta(projectKey?: string) {
  const key = keyOf(projectKey);
  return {
    Base: (name: string, host?: string) => new Base(key, name, host),
    Drive: (name: string, host?: string) => new Drive(key, name, host),
  };
}

/** The event Deta's handlers got: `json` the input, `body` the same as a JSON string. */
interface DetaEvent {
  type: string;
  action: string;
  json: unknown;
  body: string;
}
type DetaHandler = (event: DetaEvent) => unknown;
interface Registry {
  run(action: string, handler: (event: { type: string; action: string; body: unknown }) => unknown): void;
  cron(handler: (event: { type: string; action: string; body: unknown }) => unknown): void;
}

function adapt(handler: DetaHandler) {
  return (event: { type: string; action: string; body: unknown }) =>
    handler({ type: event.type, action: event.action, json: event.body, body: JSON.stringify(event.body ?? null) });
}

/** The runner's `micros` events, or a stand-in that keeps the handlers when the app runs elsewhere. */
function registry(): Registry {
  return (
    (globalThis as { micros?: Registry }).micros ?? {
      run() {},
      cron() {},
    }
  );
}

/**
 * Deta's `App(app)`: the app itself, with `app.lib.cron(handler)` and `app.lib.run(handler, { action })` (or
 * `run(handler, "action")`). With no app, a request handler that answers 404: enough for a micro of only actions.
 */
function App<T extends object>(
  app?: T,
): T & {
  lib: { cron(handler: DetaHandler): void; run(handler: DetaHandler, options?: { action?: string } | string): void };
} {
  const target = (app ??
    ((_req: unknown, res: { statusCode: number; end(body: string): void }) => {
      res.statusCode = 404;
      res.end("Not Found");
    })) as T & { lib: unknown };
  const lib = {
    cron(handler: DetaHandler): void {
      registry().cron(adapt(handler));
    },
    run(handler: DetaHandler, options?: { action?: string } | string): void {
      const action = typeof options === "string" ? options : (options?.action ?? "");
      registry().run(action, adapt(handler));
    },
  };
  Object.defineProperty(target, "lib", { value: lib, enumerable: false, configurable: true, writable: true });
  return target as never;
}

function BaseOf(name: string, host?: string): Base {
  return Deta().Base(name, host);
}

function DriveOf(name: string, host?: string): Drive {
  return Deta().Drive(name, host);
}

const app = App();

// Deta's npm package asks for `require("detalib").App`: this file answers to that name too.
export = { Deta, Base: BaseOf, Drive: DriveOf, App, app };
