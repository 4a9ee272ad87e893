import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { PROTOCOL } from "../../../runtimes/node/protocol.mjs";
import { ERROR_CODES, MicrosError, toMicrosError } from "../../shared/errors.js";
import type { Dispatcher } from "../instances/dispatcher.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { OperatorLog } from "../logs/operator-log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Micro, Micros } from "../store/micros.js";
import { type RequestLog, recordableHeaders } from "../visor/request-log.js";
import { Trace } from "../visor/trace.js";
import { type AccessCheck, unauthorized } from "./access.js";
import { forwardedHeaders, relay, sendError } from "./proxy.js";
import { checkBody } from "./request-body.js";
import { isReservedPath } from "./reserved-path.js";
import type { ClientOf } from "./trusted-proxy.js";

/** Refused bodies up to this size are read and dropped, so their senders see the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** Serves one request; every failure, the store's included, becomes the error response, so it never rejects. */
export type Gateway = (req: IncomingMessage, res: ServerResponse, subdomain: string) => Promise<void>;

export interface GatewayOptions {
  micros: Micros;
  dispatcher: Dispatcher;
  logs: LogSink;
  operator: OperatorLog;
  limits: LimitPolicy;
  access: AccessCheck;
  visor: RequestLog;
  /** Who sent a request: its peer, or the client a trusted proxy names (--trust-proxy). */
  clientOf: ClientOf;
  /** Where each request is counted and timed. */
  metrics?: Metrics;
  /**
   * Another node that runs the micro (several nodes on one database): each resolves true when it has passed the
   * request there, false when the micro is this node's to serve.
   */
  elsewhere?: {
    request(req: IncomingMessage, res: ServerResponse, micro: Micro): Promise<boolean>;
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, micro: Micro): Promise<boolean>;
  };
}

/** The abort reason when the client goes away: nobody is left to tell. */
export const CLIENT_GONE = new Error("the client closed the connection");

/** Whether the request carries a body still to be streamed (a chunked one was read whole by checkBody). */
function hasBodyToStream(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

export function reservedPathError(): MicrosError {
  return new MicrosError("ERR_NOT_FOUND", `${PROTOCOL.reservedPrefix} is reserved for the platform.`);
}

/** Serves requests addressed to a micro: find it, hold the request to its limits, get an instance, pass it through. */
export function createGateway(options: GatewayOptions): Gateway {
  const { micros, dispatcher, logs, operator } = options;
  const bodyHint = () => options.limits.hint("requestBodyBytes");
  const timeoutHint = () => options.limits.hint("timeoutMs");
  return async (req, res, subdomain) => {
    // First, before anything can wait: the client going away aborts whatever this request is waiting on.
    const client = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) client.abort(CLIENT_GONE);
    });
    // null: the store failed, and the client has been told.
    const micro = await micros.bySubdomain(subdomain).catch((err: unknown) => failed(res, operator, err));
    if (micro === null) return;
    if (!micro) {
      sendError(
        res,
        new MicrosError(
          "ERR_MICRO_NOT_FOUND",
          `No micro has the subdomain "${subdomain}". Check the endpoint in \`micros details\`.`,
          { details: { subdomain } },
        ),
      );
      return;
    }
    // The node that runs the micro serves, records and counts it; this one only passes it on.
    if (
      options.elsewhere &&
      (await options.elsewhere.request(req, res, micro).catch((err: unknown) => failed(res, operator, err))) !== false
    )
      return;
    // Who sent it, through trusted proxies: what the app, the visor and the logs are told.
    const who = options.clientOf(req);
    // The visor's record of this request, written once the response is over, whatever its outcome.
    const trace = new Trace(micro.visor);
    const started = performance.now();
    const ts = Date.now();
    res.once("close", () => {
      options.metrics?.request(subdomain, res.headersSent ? res.statusCode : 499, (performance.now() - started) / 1000);
      options.visor.record({
        microId: micro.id,
        ts,
        method: req.method ?? "GET",
        path: req.url ?? "/",
        status: res.headersSent ? res.statusCode : 499,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        requestBytes: trace.requestBytes,
        responseBytes: trace.responseBytes || Number(res.getHeader("content-length") ?? 0),
        instanceId: trace.instanceId,
        cold: trace.cold,
        timings: trace.timings(),
        client: who.address,
        requestHeaders: micro.visor ? recordableHeaders(req.rawHeaders) : null,
        requestBody: trace.requestBody(),
        responseBody: trace.responseBody(),
      });
    });
    if (isReservedPath(req.url ?? "/")) {
      sendError(res, reservedPathError());
      return;
    }
    // A private micro refuses strangers before anything of it is started.
    const access = await options.access(micro, req).catch((err: unknown) => failed(res, operator, err));
    if (access === null) return;
    if (!access.allowed) {
      sendError(res, unauthorized(micro));
      return;
    }
    const refuse = (err: unknown) => {
      if (client.signal.aborted) return;
      const error = toMicrosError(err);
      if (error.code === "ERR_PAYLOAD_TOO_LARGE") {
        logs.platform(micro.id, `request refused with 413 (client ${who.address}): ${error.message}`);
        // A client still sending would see its connection reset instead of the 413: let a body of sane size
        // arrive (and go nowhere); for anything larger, close the connection.
        const declared = Number(req.headers["content-length"] ?? Number.NaN);
        if (declared <= DRAIN_LIMIT_BYTES) req.resume();
        else res.setHeader("connection", "close");
      } else if (ERROR_CODES[error.code].kind === "system") {
        operator.error(
          { micro: micro.id, instance: trace.instanceId, client: who.address, err: error.cause ?? error },
          `${req.method} ${req.url} failed inside the platform`,
        );
      }
      sendError(res, error);
    };
    const limits = options.limits.effective(micro.limits);
    checkBody(req, limits.requestBodyBytes, bodyHint, DRAIN_LIMIT_BYTES)
      .then((buffered) => {
        if (buffered) trace.request(buffered);
        const streamed = !buffered && hasBodyToStream(req);
        return dispatcher.exchange(
          micro,
          {
            method: req.method ?? "GET",
            path: req.url ?? "/",
            headers: forwardedHeaders(req, who, access.platformHeaders),
            body: streamed ? req : buffered,
          },
          {
            signal: client.signal,
            timeoutMs: limits.timeoutMs,
            onLease: (lease) => {
              options.metrics?.forwarded((performance.now() - started) / 1000, lease.cold);
              trace.leased(lease.instanceId, lease.cold, lease.startTimes);
              // Counted as it is piped, not before: a listener now would start the flow while nothing reads it.
              if (streamed) req.on("data", (chunk: Buffer) => trace.request(chunk));
            },
            onTimeout: () => {
              logs.platform(
                micro.id,
                `request ${req.method} ${req.url} timed out after ${limits.timeoutMs / 1000} s; the caller (${who.address}) got 504`,
                trace.instanceId,
              );
              return new MicrosError(
                "ERR_REQUEST_TIMEOUT",
                `The micro took longer than its ${limits.timeoutMs / 1000} s limit to answer ${req.method} ${req.url}. Make the handler faster or move slow work out of the request, or ${timeoutHint()}.`,
              );
            },
          },
          (answer) => {
            trace.answered();
            return relay(answer, res, trace, client.signal);
          },
        );
      })
      .catch(refuse);
  };
}

/** A store read on a request's path failed: the operator is told why, the client gets a 500. */
function failed(res: ServerResponse, operator: OperatorLog, err: unknown): null {
  const error = toMicrosError(err);
  operator.error({ err: error.cause ?? error }, "the store failed while routing a request");
  sendError(res, error);
  return null;
}
