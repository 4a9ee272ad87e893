import type { IncomingMessage, ServerResponse } from "node:http";
import { DetaError } from "./deta-error.js";

/** A body over its limit: the route decides what to answer (Base: 400, Drive: its HTML 413). */
export class BodyTooLarge extends Error {}

/**
 * The whole body, up to `limit` bytes. A declared length over the limit is refused before anything is read; a
 * body that grows past it stops being read. Either way the connection is closed after the answer, so the rest of
 * an oversized body is never read.
 */
export async function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    res.shouldKeepAlive = false;
    throw new BodyTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.shouldKeepAlive = false;
      throw new BodyTooLarge();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** A JSON body: an empty one is `undefined` (the SDKs send none where they have nothing to say). */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new DetaError(400, "The body is not valid JSON");
  }
}

/** Sends JSON that is already serialized (stored items are kept as JSON and never re-encoded). */
export function sendRawJson(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendRawJson(res, status, JSON.stringify(value));
}

/** A failure in Deta's shape: `{"errors": [message]}`, or the error's own body. */
export function sendError(res: ServerResponse, error: DetaError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error.body) {
    res.writeHead(error.status, {
      "content-type": error.body.contentType,
      "content-length": Buffer.byteLength(error.body.text),
    });
    res.end(error.body.text);
    return;
  }
  sendJson(res, error.status, { errors: [error.message] });
}
