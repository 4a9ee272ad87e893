import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, DetaError } from "../deta-error.js";
import { BodyTooLarge, parseJson, readBody, sendJson, sendRawJson } from "../http.js";
import type { Bases } from "./bases.js";
import { BATCH_LIMIT, isObject, keyProblem, prepareItem } from "./item.js";
import { BAD_QUERY, parseQuery } from "./query.js";
import { parseUpdate } from "./update.js";

/** Deta's limit on one request to Base. */
export const REQUEST_LIMIT_BYTES = 16 * 1024 * 1024;

export interface BaseRequest {
  projectId: string;
  base: string;
  /** What follows the base in the path: `items`, `items/<key>` or `query`, not yet decoded. */
  rest: string[];
}

async function body(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  try {
    return parseJson(await readBody(req, res, REQUEST_LIMIT_BYTES));
  } catch (err) {
    if (err instanceof BodyTooLarge) throw badRequest("Request size exceeds 16 MB");
    throw err;
  }
}

function decodeKey(parts: string[]): string {
  try {
    return decodeURIComponent(parts.join("/"));
  } catch {
    throw badRequest("The key in the path is not correctly URL-encoded");
  }
}

/** PUT /items: up to 25 items, checked together, stored together. */
async function putItems(store: Bases, request: BaseRequest, req: IncomingMessage, res: ServerResponse) {
  const payload = await body(req, res);
  const items = isObject(payload) ? payload.items : undefined;
  if (!Array.isArray(items)) throw badRequest("Items must be an array");
  if (items.length > BATCH_LIMIT) throw badRequest("We can't put more than 25 items at a time");
  const prepared = items.map(prepareItem);
  const keys = new Set<string>();
  for (const item of prepared) {
    if (keys.has(item.key)) throw badRequest(`Two items have the key ${item.key}`);
    keys.add(item.key);
  }
  await store.put(request.projectId, request.base, prepared);
  // Deta's shape; a batch is stored whole or not at all, so nothing ever fails alone.
  sendRawJson(
    res,
    207,
    `{"processed":{"items":[${prepared.map((item) => item.json).join(",")}]},"failed":{"items":[]}}`,
  );
}

async function insertItem(store: Bases, request: BaseRequest, req: IncomingMessage, res: ServerResponse) {
  const payload = await body(req, res);
  const prepared = prepareItem(isObject(payload) ? payload.item : undefined);
  await store.insert(request.projectId, request.base, prepared);
  sendRawJson(res, 201, prepared.json);
}

function queryLimit(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw badRequest(BAD_QUERY);
  return value;
}

async function queryItems(store: Bases, request: BaseRequest, req: IncomingMessage, res: ServerResponse) {
  const payload = (await body(req, res)) ?? {};
  if (!isObject(payload)) throw badRequest(BAD_QUERY);
  const query = parseQuery(payload.query);
  const limit = queryLimit(payload.limit);
  const last = payload.last;
  if (last !== undefined && last !== null && typeof last !== "string") throw badRequest(BAD_QUERY);
  const sort = payload.sort;
  if (sort !== undefined && sort !== null && sort !== "" && sort !== "asc" && sort !== "desc") {
    throw badRequest(BAD_QUERY);
  }
  const page = await store.query(request.projectId, request.base, query, {
    ...(limit !== undefined && { limit }),
    ...(typeof last === "string" && { last }),
    desc: sort === "desc",
  });
  const paging = page.last === undefined ? { size: page.items.length } : { size: page.items.length, last: page.last };
  sendRawJson(res, 200, `{"paging":${JSON.stringify(paging)},"items":[${page.items.join(",")}]}`);
}

/** One request to a base, its project already checked: Deta's Base HTTP API (docs/base/HTTP.md). */
export async function handleBase(
  store: Bases,
  request: BaseRequest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const [resource, ...keyParts] = request.rest;
  const method = req.method ?? "GET";
  if (resource === "query" && keyParts.length === 0 && method === "POST") {
    return queryItems(store, request, req, res);
  }
  if (resource !== "items") throw new DetaError(404, "Not found");
  if (keyParts.length === 0) {
    if (method === "PUT") return putItems(store, request, req, res);
    if (method === "POST") return insertItem(store, request, req, res);
    throw new DetaError(405, "Method not allowed");
  }
  const key = decodeKey(keyParts);
  const problem = keyProblem(key);
  if (problem) throw badRequest(problem);
  switch (method) {
    case "GET": {
      const json = await store.get(request.projectId, request.base, key);
      if (json === undefined) sendJson(res, 404, { key });
      else sendRawJson(res, 200, json);
      return;
    }
    case "DELETE":
      await store.delete(request.projectId, request.base, key);
      sendJson(res, 200, { key });
      return;
    case "PATCH": {
      const update = parseUpdate(await body(req, res));
      await store.update(request.projectId, request.base, key, update);
      sendJson(res, 200, { key, ...update });
      return;
    }
    default:
      throw new DetaError(405, "Method not allowed");
  }
}
