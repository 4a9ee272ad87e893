import type { IncomingMessage, ServerResponse } from "node:http";
import { RESERVED_PATH_PREFIX } from "../../shared/api.js";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { Micros } from "../store/micros.js";
import { type RequestLog, recordableHeaders } from "../visor/request-log.js";
import { Trace } from "../visor/trace.js";
import { type AccessCheck, unauthorized } from "./access.js";
import { proxyToInstance, sendError } from "./proxy.js";
import { checkBody } from "./request-body.js";

/** Refused bodies up to this size are read and dropped, so their senders see the 413. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

export type Gateway = (req: IncomingMessage, res: ServerResponse, subdomain: string) => void;

export interface GatewayOptions {
  micros: Micros;
  instances: InstanceManager;
  logs: LogSink;
  limits: LimitPolicy;
  access: AccessCheck;
  visor: RequestLog;
}

/** Serves requests addressed to a micro: find it, hold the request to its limits, get an instance, pass it through. */
export function createGateway(options: GatewayOptions): Gateway {
  const { micros, instances, logs } = options;
  const bodyHint = () => options.limits.hint("requestBodyBytes");
  const timeoutHint = () => options.limits.hint("timeoutMs");
  return (req, res, subdomain) => {
    const micro = micros.bySubdomain(subdomain);
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
    // The visor's record of this request, written once the response is over, whatever its outcome.
    const trace = new Trace(micro.visor);
    const started = performance.now();
    const ts = Date.now();
    res.once("close", () => {
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
        requestHeaders: micro.visor ? recordableHeaders(req.rawHeaders) : null,
        requestBody: trace.requestBody(),
        responseBody: trace.responseBody(),
      });
    });
    if (req.url?.startsWith(RESERVED_PATH_PREFIX)) {
      sendError(res, new MicrosError("ERR_NOT_FOUND", `${RESERVED_PATH_PREFIX} is reserved for the platform.`));
      return;
    }
    // A private micro refuses strangers before anything of it is started.
    if (!options.access(micro, req)) {
      sendError(res, unauthorized(micro));
      return;
    }
    const refuse = (err: unknown) => {
      const error = toMicrosError(err);
      if (error.code === "ERR_PAYLOAD_TOO_LARGE") {
        logs.platform(micro.id, `request refused with 413: ${error.message}`);
        // A client still sending would see its connection reset instead of the 413: let a body of sane size
        // arrive (and go nowhere); for anything larger, close the connection.
        const declared = Number(req.headers["content-length"] ?? Number.NaN);
        if (declared <= DRAIN_LIMIT_BYTES) req.resume();
        else res.setHeader("connection", "close");
      }
      sendError(res, error);
    };
    const limits = options.limits.effective(micro.limits);
    checkBody(req, limits.requestBodyBytes, bodyHint, DRAIN_LIMIT_BYTES)
      .then(async (body) => {
        const lease = await instances.acquire(micro);
        proxyToInstance(req, res, lease, {
          body,
          timeoutMs: limits.timeoutMs,
          timeoutHint,
          trace,
          onTimeout: () =>
            logs.platform(
              micro.id,
              `request ${req.method} ${req.url} timed out after ${limits.timeoutMs / 1000} s; the caller got 504`,
              lease.instanceId,
            ),
        });
      })
      .catch(refuse);
  };
}
