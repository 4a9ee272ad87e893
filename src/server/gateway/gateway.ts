import type { IncomingMessage, ServerResponse } from "node:http";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { InstanceManager } from "../instances/manager.js";
import type { Micros } from "../store/micros.js";
import { proxyToInstance, sendError } from "./proxy.js";

export type Gateway = (req: IncomingMessage, res: ServerResponse, subdomain: string) => void;

/** Serves requests addressed to a micro: find it, get an instance, pass the request through. */
export function createGateway(micros: Micros, instances: InstanceManager): Gateway {
  return (req, res, subdomain) => {
    const micro = micros.bySubdomain(subdomain);
    if (!micro) {
      sendError(
        res,
        new MicrosError(
          "ERR_MICRO_NOT_FOUND",
          `No micro has the subdomain "${subdomain}". Check the endpoint in \`micros details\`.`,
          {
            details: { subdomain },
          },
        ),
      );
      return;
    }
    instances.acquire(micro).then(
      (lease) => proxyToInstance(req, res, lease),
      (err: unknown) => sendError(res, toMicrosError(err)),
    );
  };
}
