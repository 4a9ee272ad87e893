import type { IncomingMessage, ServerResponse } from "node:http";
import type { MicrosError } from "../../shared/errors.js";
import type { Trace } from "../visor/trace.js";
import { CLIENT_IDENTITY_HEADERS, clientHeaders } from "./forwarded.js";
import type { Client } from "./trusted-proxy.js";

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

/**
 * The headers the app gets: the client's, without hop-by-hop ones, without any the client sent under the names
 * that say who it is (the gateway sets those), and without the platform's credentials (`platformHeaders`).
 */
export function forwardedHeaders(
  req: IncomingMessage,
  client: Client,
  platformHeaders: readonly string[],
  keepUpgrade = false,
): string[] {
  const drop =
    platformHeaders.length === 0 && !keepUpgrade
      ? notForwarded
      : (name: string) =>
          (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === "connection" || name === "upgrade"))) ||
          CLIENT_IDENTITY_HEADERS.has(name) ||
          platformHeaders.includes(name);
  return clientHeaders(req, client, withoutHeaders(req.rawHeaders, drop));
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
 * Streams an instance's answer to the client, and resolves once the client's response has closed (finished, or
 * cut short by either side).
 */
export function relay(answer: IncomingMessage, res: ServerResponse, trace: Trace, client: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (client.aborted) {
      answer.destroy();
      resolve();
      return;
    }
    res.once("close", () => {
      // The client went away before the answer was complete: stop reading it (the exchange's signal ends the rest).
      if (!answer.complete) answer.destroy();
      resolve();
    });
    res.writeHead(
      answer.statusCode ?? 502,
      answer.statusMessage,
      withoutHeaders(answer.rawHeaders, (name) => HOP_BY_HOP.has(name)),
    );
    answer.on("data", (chunk: Buffer) => trace.response(chunk));
    // An answer cut short (the instance died mid-body) cuts the client's response short too.
    answer.once("error", () => res.destroy());
    answer.once("close", () => {
      if (!answer.complete) res.destroy();
    });
    answer.pipe(res);
  });
}
