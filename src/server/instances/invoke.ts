import { request } from "node:http";
import { EVENT_PATH } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import type { Micro } from "../store/micros.js";
import type { InstanceManager } from "./manager.js";

export interface MicroEvent {
  type: "run" | "cron";
  action: string;
  body: Record<string, unknown>;
}

/**
 * Delivers an event to the micro (starting an instance if it sleeps) and
 * returns the handler's result. Held to the micro's request timeout, like a
 * request through the gateway.
 */
export async function invoke(
  instances: InstanceManager,
  micro: Micro,
  event: MicroEvent,
  timeoutMs: number,
): Promise<unknown> {
  const lease = await instances.acquire(micro);
  try {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = JSON.stringify(event);
      const req = request(
        {
          socketPath: lease.socketPath,
          agent: lease.agent,
          method: "POST",
          path: EVENT_PATH,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
          timeout: timeoutMs,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("timeout", () =>
        req.destroy(
          new MicrosError("ERR_REQUEST_TIMEOUT", `The ${event.type} handler took longer than ${timeoutMs / 1000} s.`),
        ),
      );
      req.on("error", (err) =>
        reject(
          err instanceof MicrosError
            ? err
            : new MicrosError("ERR_APP_CRASHED", `The micro did not answer: ${err.message}`),
        ),
      );
      req.end(payload);
    });
    const answer = JSON.parse(body || "{}") as { result?: unknown; error?: string };
    if (status === 404) {
      throw new MicrosError(
        "ERR_NO_HANDLER",
        `The micro has ${answer.error ?? "no handler"}. Register one with micros.run("${event.action}", handler) (Node) or @micros.run("${event.action}") (Python).`,
      );
    }
    if (status !== 200)
      throw new MicrosError(
        "ERR_HANDLER_FAILED",
        `The ${event.type} handler failed: ${answer.error ?? `status ${status}`}`,
      );
    return answer.result ?? null;
  } finally {
    lease.done();
  }
}
