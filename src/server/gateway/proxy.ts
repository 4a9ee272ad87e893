import { type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http";
import { MicrosError } from "../../shared/errors.js";
import type { Lease } from "../instances/manager.js";
import type { Trace } from "../visor/trace.js";
import { CLIENT_IDENTITY_HEADERS, clientHeaders } from "./forwarded.js";

// Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

const END_REASON_WAIT_MS = 250;

/** Raw header pairs minus the dropped ones; keeping them raw preserves repeats such as Set-Cookie. */
export function withoutHeaders(raw: string[], drop: (name: string) => boolean): string[] {
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!drop(name.toLowerCase())) kept.push(name, raw[i + 1] as string);
  }
  return kept;
}

const notForwarded = (name: string) => HOP_BY_HOP.has(name) || CLIENT_IDENTITY_HEADERS.has(name);

function requestHeaders(req: IncomingMessage, body: Buffer | undefined): OutgoingHttpHeaders {
  const headers = clientHeaders(req, withoutHeaders(req.rawHeaders, notForwarded));
  // A body that was read whole is sent with its length instead of in chunks.
  if (body) headers.push("content-length", String(body.length));
  return headers as unknown as OutgoingHttpHeaders;
}

/** Whether the request carries a body still to be streamed (a chunked one was read whole by checkBody). */
function hasBodyToStream(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

export function sendError(res: ServerResponse, error: MicrosError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  // Deta answered refused requests with {"errors": [...]}; apps and clients written for it keep working.
  const body = JSON.stringify(
    error.code === "ERR_UNAUTHORIZED" ? { errors: ["Unauthorized"], ...error.toBody() } : error.toBody(),
  );
  res.writeHead(error.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Sends one request to an instance over its pooled keep-alive connection and
 * streams the answer back. Hand-written on node:http rather than a proxy
 * library: this is the hot path of every request, and it needs nothing more
 * than a pipe in each direction.
 */
export function proxyToInstance(
  req: IncomingMessage,
  res: ServerResponse,
  lease: Lease,
  options: {
    body: Buffer | undefined;
    timeoutMs: number;
    timeoutHint: () => string;
    onTimeout: () => void;
    trace: Trace;
  },
): void {
  const { trace } = options;
  trace.instanceId = lease.instanceId;
  trace.cold = lease.cold;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    lease.done();
  };
  // The limit is on time to the answer's headers: a response that streams (server-sent events) may go on.
  const timer = setTimeout(() => {
    options.onTimeout();
    sendError(
      res,
      new MicrosError(
        "ERR_REQUEST_TIMEOUT",
        `The micro took longer than its ${options.timeoutMs / 1000} s limit to answer ${req.method} ${req.url}. Make the handler faster or move slow work out of the request, or ${options.timeoutHint()}.`,
      ),
    );
    upstream.destroy();
    finish();
  }, options.timeoutMs);

  const upstream = request(
    {
      socketPath: lease.socketPath,
      agent: lease.agent,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, options.body),
    },
    (answer) => {
      clearTimeout(timer);
      if (res.headersSent) {
        answer.destroy();
        return;
      }
      res.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        withoutHeaders(answer.rawHeaders, (name) => HOP_BY_HOP.has(name)),
      );
      answer.on("data", (chunk: Buffer) => trace.response(chunk));
      answer.pipe(res);
      answer.once("error", () => res.destroy());
    },
  );
  upstream.once("error", async (err) => {
    if (finished) return;
    // A reset usually means the instance died; give its exit a moment to be seen so the caller learns why.
    const reason = await lease.endReason(END_REASON_WAIT_MS);
    const message = reason
      ? `The micro's instance ${reason} while handling this request.`
      : `The micro closed the connection without answering (${err.message}).`;
    sendError(res, new MicrosError("ERR_APP_CRASHED", message));
    finish();
  });
  if (options.body) {
    trace.request(options.body);
    upstream.end(options.body);
  } else if (hasBodyToStream(req)) {
    req.on("data", (chunk: Buffer) => trace.request(chunk));
    req.pipe(upstream);
  } else {
    // Most requests have no body: end at once rather than pipe an empty stream (a dozen listeners set and removed).
    upstream.end();
  }
  res.once("close", () => {
    // The client went away before the answer was complete: stop the work upstream too.
    if (!res.writableFinished) upstream.destroy();
    finish();
  });
}
