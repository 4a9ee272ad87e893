import type { IncomingMessage, ServerResponse } from "node:http";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { Micros } from "../store/micros.js";
import { type AccessCheck, unauthorized } from "./access.js";
import { proxyToInstance, sendError } from "./proxy.js";
import { checkBody } from "./request-body.js";

export type Gateway = (req: IncomingMessage, res: ServerResponse, subdomain: string) => void;

export interface GatewayOptions {
  micros: Micros;
  instances: InstanceManager;
  logs: LogSink;
  limits: LimitPolicy;
  access: AccessCheck;
}

/** Serves requests addressed to a micro: find it, hold the request to its limits, get an instance, pass it through. */
export function createGateway(options: GatewayOptions): Gateway {
  const { micros, instances, logs } = options;
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
    // A private micro refuses strangers before anything of it is started.
    if (!options.access(micro, req)) {
      sendError(res, unauthorized(micro));
      return;
    }
    const refuse = (err: unknown) => {
      const error = toMicrosError(err);
      if (error.code === "ERR_PAYLOAD_TOO_LARGE") {
        logs.platform(micro.id, `request refused with 413: ${error.message}`);
        // The rest of the body is not wanted: do not keep the connection for another request.
        res.setHeader("connection", "close");
      }
      sendError(res, error);
    };
    const limits = options.limits.effective(micro.limits);
    checkBody(req, limits.requestBodyBytes, options.limits.hint("requestBodyBytes"))
      .then(async (body) => {
        const lease = await instances.acquire(micro);
        proxyToInstance(req, res, lease, {
          body,
          timeoutMs: limits.timeoutMs,
          timeoutHint: options.limits.hint("timeoutMs"),
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
