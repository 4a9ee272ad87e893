import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { OperatorLog } from "../logs/operator-log.js";
import type { Metrics } from "./metrics.js";

/**
 * Where the metrics are served is the operator's choice, and nowhere by default: what they show (micros' names,
 * traffic, the daemon's memory) is the operator's, not the public's. `--metrics-token` serves `/metrics` on the
 * platform's own host behind that bearer token; `--metrics-listen` serves it with no auth on an address of its own
 * (a loopback or private one, for a Prometheus next to the server). A micro's host never serves it: a micro's own
 * `/metrics` is the app's.
 */

/** A scrape on the platform's host: GET or HEAD of `/metrics`, with or without a query. */
export function isMetricsRequest(req: IncomingMessage): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const url = req.url ?? "";
  return url === "/metrics" || url.startsWith("/metrics?");
}

function sendError(res: ServerResponse, error: MicrosError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(error.toBody());
  res.writeHead(error.status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

async function sendMetrics(metrics: Metrics, operator: OperatorLog, req: IncomingMessage, res: ServerResponse) {
  try {
    const text = await metrics.scrape();
    res.writeHead(200, { "content-type": metrics.contentType, "content-length": Buffer.byteLength(text) });
    res.end(req.method === "HEAD" ? undefined : text);
  } catch (err) {
    operator.error({ err }, "could not collect the metrics");
    sendError(res, toMicrosError(err));
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** `/metrics` on the platform's host, for a caller with `Authorization: Bearer <token>`; 401 for anyone else. */
export function metricsBehindToken(metrics: Metrics, token: string, operator: OperatorLog): RequestListener {
  // Compared as digests of equal length in constant time, so the answer's timing says nothing of the token.
  const expected = digest(token);
  return (req, res) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      sendError(
        res,
        new MicrosError(
          "ERR_UNAUTHORIZED",
          "The metrics need the server's metrics token: send `Authorization: Bearer <token>` with the value of --metrics-token.",
        ),
        { "www-authenticate": 'Bearer realm="micros metrics"' },
      );
      return;
    }
    void sendMetrics(metrics, operator, req, res);
  };
}

/** `<host>:<port>` (an IPv6 address in brackets) as the address to listen on. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  const host = text.slice(0, colon);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(text.slice(colon + 1)) };
}

export interface MetricsListener {
  /** Where Prometheus scrapes: `http://<address>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

/** A listener of its own that serves `/metrics` with no auth, for an address only the operator's network reaches. */
export async function listenForMetrics(
  metrics: Metrics,
  address: string,
  operator: OperatorLog,
): Promise<MetricsListener> {
  const { host, port } = parseListenAddress(address);
  const server = createServer((req, res) => {
    if (isMetricsRequest(req)) void sendMetrics(metrics, operator, req, res);
    else sendError(res, new MicrosError("ERR_NOT_FOUND", "This address serves only GET /metrics."));
  });
  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) =>
      reject(
        new MicrosError(
          "ERR_CANNOT_LISTEN",
          `Cannot serve the metrics on ${address} (--metrics-listen): ${err.code === "EADDRINUSE" ? "another program has the port" : err.message}. Choose another address or port.`,
          { cause: err, details: { host, port } },
        ),
      );
    server.once("error", refused);
    server.listen({ port, host }, () => {
      server.off("error", refused);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
