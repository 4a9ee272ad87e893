import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { MicrosError } from "../../../shared/errors.js";
import { prepareItem } from "../../data/base/item.js";
import { parseQuery } from "../../data/base/query.js";
import { DetaError } from "../../data/deta-error.js";
import { declaredType } from "../../data/drive/content-type.js";
import { type Drives, nameProblem, PART_LIMIT_BYTES } from "../../data/drive/drives.js";
import type { ApiContext } from "../context.js";
import { parse } from "../validate.js";
import { ownedProject } from "./data.js";

/** Base and Drive names as the data services take them: 1-255 characters, no `/` and no control characters. */
const dataName = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (name) => ![...name].some((c) => c === "/" || c < " " || c === "\u007f"),
    "must have no / or control characters",
  );
const baseParams = z.strictObject({ name: z.string().max(63), base: dataName });
const driveParams = z.strictObject({ name: z.string().max(63), drive: dataName });

const itemsQuery = z.strictObject({
  /** Deta's query, as JSON: a list of objects ORed, or one object. */
  query: z.string().max(16_384).default("[]"),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  last: z.string().max(1024).optional(),
});
const itemBody = z.strictObject({ item: z.record(z.string(), z.unknown()) });
const keyQuery = z.strictObject({ key: z.string().min(1).max(1024) });
const filesQuery = z.strictObject({
  prefix: z.string().max(1024).default(""),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  last: z.string().max(1024).optional(),
});
const fileQuery = z.strictObject({ name: z.string().max(1024) });

/**
 * The data services answer in Deta's shape for Deta's clients; here the same refusals become the control API's
 * errors. Anything else is not the caller's doing and goes on as it is.
 */
function asMicrosError(err: unknown): unknown {
  if (!(err instanceof DetaError)) return err;
  if (err.status === 400) return new MicrosError("ERR_VALIDATION", err.message, { cause: err });
  if (err.status === 409)
    return new MicrosError("ERR_ITEM_EXISTS", `${err.message}: edit the item instead.`, { cause: err });
  if (err.status === 507) return new MicrosError("ERR_STORAGE_FULL", err.message, { cause: err });
  return err;
}

async function translated<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asMicrosError(err);
  }
}

function fileName(query: unknown): string {
  const { name } = parse(fileQuery, query, "query");
  const problem = nameProblem(name);
  if (problem) throw new MicrosError("ERR_VALIDATION", `Invalid file name: ${problem}.`);
  return name;
}

/**
 * Stores a body of any size as it arrives: up to 10 MB in one put; larger, in 10 MB parts of an upload (Drive's own
 * multipart rules), so the server never holds more than one part of it. The quota is checked at every part.
 */
async function storeStream(
  drives: Drives,
  at: { projectId: string; drive: string; name: string },
  body: AsyncIterable<Buffer> | Buffer[],
  type: string | undefined,
): Promise<number> {
  const { projectId, drive, name } = at;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let uploadId: string | undefined;
  let part = 0;
  const flushPart = async (bytes: number) => {
    const data = Buffer.concat(pending, pendingBytes);
    uploadId ??= await drives.startUpload(projectId, drive, name, type);
    part += 1;
    await drives.putPart(projectId, drive, uploadId, name, part, data.subarray(0, bytes));
    const rest = data.subarray(bytes);
    pending = rest.length ? [rest] : [];
    pendingBytes = rest.length;
  };
  try {
    for await (const chunk of body) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      total += chunk.length;
      while (pendingBytes > PART_LIMIT_BYTES) await flushPart(PART_LIMIT_BYTES);
    }
    if (uploadId === undefined) {
      await drives.put(projectId, drive, name, Buffer.concat(pending, pendingBytes), type);
    } else {
      if (pendingBytes > 0) await flushPart(pendingBytes);
      await drives.completeUpload(projectId, drive, uploadId, name);
    }
    return total;
  } catch (err) {
    if (uploadId !== undefined) await drives.abortUpload(projectId, drive, uploadId, name).catch(() => undefined);
    throw err;
  }
}

/**
 * A signed-in owner's view of their project's Base and Drive (the dashboard's), by project name and with the
 * control API's authentication: the browser never holds the project's key. Reads and writes go to the same stores
 * the data services use, with the same checks.
 */
export function projectDataRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { bases, drives } = ctx.data;

  app.get("/projects/:name/bases/:base/items", async (request) => {
    const params = parse(baseParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const { query, limit, last } = parse(itemsQuery, request.query, "query");
    let parsed: unknown;
    try {
      parsed = JSON.parse(query);
    } catch {
      throw new MicrosError("ERR_VALIDATION", 'The query is not JSON: write it as Deta did, e.g. [{"age?gt": 30}].');
    }
    const page = await translated(() =>
      bases.query(project.id, params.base, parseQuery(parsed), { limit, ...(last !== undefined && { last }) }),
    );
    return { items: page.items.map((json) => JSON.parse(json) as unknown), last: page.last ?? null };
  });

  /** Adds an item (its key generated when it has none); an existing key is 409. */
  app.post("/projects/:name/bases/:base/items", async (request, reply) => {
    const params = parse(baseParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const { item } = parse(itemBody, request.body, "body");
    const prepared = await translated(async () => {
      const ready = prepareItem(item);
      await bases.insert(project.id, params.base, ready);
      return ready;
    });
    return reply.status(201).send({ item: prepared.item });
  });

  /** Stores the item whole under its key, replacing what was there. */
  app.put("/projects/:name/bases/:base/items", async (request) => {
    const params = parse(baseParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const { item } = parse(itemBody, request.body, "body");
    if (typeof item.key !== "string") throw new MicrosError("ERR_VALIDATION", "The item needs its key (a string).");
    const prepared = await translated(async () => {
      const ready = prepareItem(item);
      await bases.put(project.id, params.base, [ready]);
      return ready;
    });
    return { item: prepared.item };
  });

  // The key is in the query, not the path: keys may be up to 1024 bytes and hold `/`.
  app.delete("/projects/:name/bases/:base/items", async (request, reply) => {
    const params = parse(baseParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const { key } = parse(keyQuery, request.query, "query");
    await bases.delete(project.id, params.base, key);
    return reply.status(204).send();
  });

  app.get("/projects/:name/drives/:drive/files", async (request) => {
    const params = parse(driveParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const { prefix, limit, last } = parse(filesQuery, request.query, "query");
    const page = await drives.list(project.id, params.drive, {
      prefix,
      limit,
      recursive: true,
      ...(last !== undefined && { last }),
    });
    const files = (
      await Promise.all(
        page.names.map(async (name) => {
          const file = await drives.stat(project.id, params.drive, name);
          // Deleted between the listing and the look-up: gone.
          return file ? [{ name, size: file.size, contentType: file.contentType }] : [];
        }),
      )
    ).flat();
    return { files, last: page.last ?? null };
  });

  /** Always an attachment, never rendered: a stored HTML file must not run as the dashboard's own page. */
  app.get("/projects/:name/drives/:drive/files/content", async (request, reply: FastifyReply) => {
    const params = parse(driveParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const name = fileName(request.query);
    const file = await drives.get(project.id, params.drive, name);
    if (!file) throw new MicrosError("ERR_FILE_NOT_FOUND", `The drive ${params.drive} has no file ${name}.`);
    const base = name.split("/").pop() ?? name;
    return reply
      .header("content-type", "application/octet-stream")
      .header("content-length", file.size)
      .header("x-content-type-options", "nosniff")
      .header("content-security-policy", "sandbox")
      .header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(base)}`)
      .send(createReadStream(file.path));
  });

  app.delete("/projects/:name/drives/:drive/files", async (request, reply) => {
    const params = parse(driveParams, request.params, "path");
    const project = await ownedProject(ctx, request, params.name);
    const name = fileName(request.query);
    await drives.delete(project.id, params.drive, [name]);
    return reply.status(204).send();
  });

  // Uploads are the one body here that is not JSON: its own scope takes any type as a stream.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    scope.put("/projects/:name/drives/:drive/files", async (request, reply) => {
      const params = parse(driveParams, request.params, "path");
      const project = await ownedProject(ctx, request, params.name);
      const name = fileName(request.query);
      // An empty body reaches no parser: an empty file.
      const body = (request.body as Readable | undefined) ?? ([] as Buffer[]);
      const type = declaredType(request.headers["content-type"]);
      const at = { projectId: project.id, drive: params.drive, name };
      const size = await translated(() => storeStream(drives, at, body, type));
      const file = await drives.stat(project.id, params.drive, name);
      return reply.status(201).send({ file: { name, size, contentType: file?.contentType ?? type ?? null } });
    });
  });
}
