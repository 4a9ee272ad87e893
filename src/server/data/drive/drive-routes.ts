import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { badRequest, DetaError, entityTooLarge } from "../deta-error.js";
import { BodyTooLarge, parseJson, readBody, sendJson } from "../http.js";
import { declaredType } from "./content-type.js";
import { DELETE_LIMIT, type Drives, LIST_LIMIT, nameProblem, PART_LIMIT_BYTES, PUT_LIMIT_BYTES } from "./drives.js";

export interface DriveRequest {
  projectId: string;
  drive: string;
  /** What follows the drive in the path, not yet decoded. */
  rest: string[];
  query: URLSearchParams;
}

/** Raw bytes up to `limit`; over it, Drive's HTML 413. */
async function bytes(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  try {
    return await readBody(req, res, limit);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw entityTooLarge();
    throw err;
  }
}

function fileName(request: DriveRequest): string {
  const name = request.query.get("name");
  const problem = nameProblem(name);
  if (problem) throw badRequest(problem);
  return name as string;
}

/** The part of an upload's answers that every one has. */
function described(request: DriveRequest, name: string) {
  return { name, project_id: request.projectId, drive_name: request.drive };
}

/** GET /files/download: the bytes, with their type and length; a `Range` of one span is served as 206. */
async function download(store: Drives, request: DriveRequest, req: IncomingMessage, res: ServerResponse) {
  const name = fileName(request);
  // A file replaced between the lookup and the open has lost its blob: look again, once.
  for (let attempt = 0; attempt < 2; attempt++) {
    const file = await store.get(request.projectId, request.drive, name);
    if (!file) throw new DetaError(404, "File not found");
    const handle = await open(file.path, "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (!handle) continue;
    let start = 0;
    let end = file.size - 1;
    let status = 200;
    const headers: Record<string, string | number> = { "content-type": file.contentType, "accept-ranges": "bytes" };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(Number(range[2]), file.size - 1);
      } else {
        start = Math.max(0, file.size - Number(range[2]));
      }
      if (start > end || start >= file.size) {
        await handle.close();
        res.writeHead(416, { "content-range": `bytes */${file.size}` });
        res.end();
        return;
      }
      status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${file.size}`;
    }
    headers["content-length"] = file.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (file.size === 0 || req.method === "HEAD") {
      await handle.close();
      res.end();
      return;
    }
    await pipeline(createReadStream("", { fd: handle, start, end }), res);
    return;
  }
  throw new DetaError(404, "File not found");
}

async function list(store: Drives, request: DriveRequest, res: ServerResponse) {
  const { query } = request;
  const limitText = query.get("limit") || String(LIST_LIMIT);
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > LIST_LIMIT) {
    throw badRequest(`limit must be a whole number from 1 to ${LIST_LIMIT}`);
  }
  const page = await store.list(request.projectId, request.drive, {
    prefix: query.get("prefix") ?? "",
    limit,
    ...(query.get("last") && { last: query.get("last") as string }),
    // Recursive unless asked otherwise (Python never asks).
    recursive: query.get("recursive") !== "false",
  });
  sendJson(
    res,
    200,
    page.last === undefined
      ? { names: page.names }
      : { paging: { size: page.names.length, last: page.last }, names: page.names },
  );
}

/** DELETE /files: up to 1000 names; blank ones fail alone, and all of them blank is a bad request. */
async function deleteFiles(store: Drives, request: DriveRequest, req: IncomingMessage, res: ServerResponse) {
  const payload = parseJson(await bytes(req, res, 1024 * 1024));
  const names = typeof payload === "object" && payload !== null ? (payload as { names?: unknown }).names : undefined;
  if (!Array.isArray(names)) throw badRequest("names must be a list of file names");
  if (names.length > DELETE_LIMIT) throw badRequest("We can't delete more than 1000 items at a time");
  const valid: string[] = [];
  const failed: Record<string, string> = {};
  for (const name of names) {
    if (typeof name === "string" && name.trim() !== "") valid.push(name);
    else failed[String(name)] = "invalid name";
  }
  if (valid.length === 0) throw badRequest("Names can't be empty");
  await store.delete(request.projectId, request.drive, valid);
  sendJson(res, 200, Object.keys(failed).length === 0 ? { deleted: valid } : { deleted: valid, failed });
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest("The path is not correctly URL-encoded");
  }
}

function partNumber(request: DriveRequest): number {
  const text = request.query.get("part") ?? "";
  const part = Number(text);
  if (!/^\d+$/.test(text) || part < 1 || part > 10_000) throw badRequest("part must be a number from 1 to 10000");
  return part;
}

/** One request to a drive, its project already checked: Deta's Drive HTTP API (docs/drive/HTTP.md). */
export async function handleDrive(
  store: Drives,
  request: DriveRequest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? "GET";
  const [resource, id, sub, ...extra] = request.rest;
  const decodedId = id === undefined ? undefined : decodeSegment(id);
  if (extra.length > 0) throw new DetaError(404, "Not found");
  if (resource === "files" && id === undefined) {
    if (method === "GET") return list(store, request, res);
    if (method === "DELETE") return deleteFiles(store, request, req, res);
    if (method === "POST") {
      const name = fileName(request);
      const data = await bytes(req, res, PUT_LIMIT_BYTES);
      await store.put(request.projectId, request.drive, name, data, declaredType(req.headers["content-type"]));
      return sendJson(res, 201, described(request, name));
    }
  }
  if (resource === "files" && id === "download" && sub === undefined && (method === "GET" || method === "HEAD")) {
    return download(store, request, req, res);
  }
  if (resource === "uploads") {
    if (id === undefined && method === "POST") {
      const name = fileName(request);
      const type = declaredType(req.headers["content-type"]);
      const uploadId = await store.startUpload(request.projectId, request.drive, name, type);
      return sendJson(res, 202, { ...described(request, name), upload_id: uploadId });
    }
    if (decodedId !== undefined && sub === "parts" && method === "POST") {
      const name = fileName(request);
      const part = partNumber(request);
      const data = await bytes(req, res, PART_LIMIT_BYTES);
      const type = declaredType(req.headers["content-type"]);
      await store.putPart(request.projectId, request.drive, decodedId, name, part, data, type);
      return sendJson(res, 200, { ...described(request, name), upload_id: decodedId, part });
    }
    if (decodedId !== undefined && sub === undefined && (method === "PATCH" || method === "DELETE")) {
      const name = fileName(request);
      if (method === "PATCH") await store.completeUpload(request.projectId, request.drive, decodedId, name);
      else await store.abortUpload(request.projectId, request.drive, decodedId, name);
      return sendJson(res, 200, { ...described(request, name), upload_id: decodedId });
    }
  }
  throw new DetaError(404, "Not found");
}
