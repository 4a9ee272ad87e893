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

export interface DirectRequest {
  method: string;
  path: string;
  /** Raw name/value pairs. */
  headers: [string, string][];
  body: Buffer | null;
}

export interface DirectResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/**
 * Sends one request straight to an instance of the micro (starting one if it
 * sleeps), for the platform's own calls: events and visor replays. Held to
 * the micro's request timeout, like a request through the gateway.
 */
export async function requestInstance(
  instances: InstanceManager,
  micro: Micro,
  direct: DirectRequest,
  timeoutMs: number,
): Promise<DirectResponse> {
  const lease = await instances.acquire(micro);
  try {
    return await new Promise<DirectResponse>((resolve, reject) => {
      const req = request(
        {
          socketPath: lease.socketPath,
          agent: lease.agent,
          method: direct.method,
          path: direct.path,
          // Raw header lists get no defaults from Node: HTTP/1.1 needs a Host.
          headers: [
            ...(direct.headers.some(([name]) => name.toLowerCase() === "host") ? [] : ["host", "localhost"]),
            ...direct.headers.flat(),
            ...(direct.body ? ["content-length", String(direct.body.length)] : []),
          ],
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const headers: [string, string][] = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              headers.push([res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string]);
            }
            resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on("timeout", () =>
        req.destroy(
          new MicrosError("ERR_REQUEST_TIMEOUT", `The micro took longer than ${timeoutMs / 1000} s to answer.`),
        ),
      );
      req.on("error", (err) =>
        reject(
          err instanceof MicrosError
            ? err
            : new MicrosError("ERR_APP_CRASHED", `The micro did not answer: ${err.message}`),
        ),
      );
      req.end(direct.body ?? undefined);
    });
  } finally {
    lease.done();
  }
}

/** Delivers an event to the micro's handler and returns its result. */
export async function invoke(
  instances: InstanceManager,
  micro: Micro,
  event: MicroEvent,
  timeoutMs: number,
): Promise<unknown> {
  const { status, body } = await requestInstance(
    instances,
    micro,
    {
      method: "POST",
      path: EVENT_PATH,
      headers: [["content-type", "application/json"]],
      body: Buffer.from(JSON.stringify(event)),
    },
    timeoutMs,
  );
  const answer = JSON.parse(body.toString("utf8") || "{}") as { result?: unknown; error?: string };
  if (status === 404) {
    throw new MicrosError(
      "ERR_NO_HANDLER",
      `The micro has ${answer.error ?? "no handler"}. Register one with micros.run("${event.action}", handler) (Node) or @micros.run("${event.action}") (Python).`,
    );
  }
  if (status !== 200) {
    throw new MicrosError(
      "ERR_HANDLER_FAILED",
      `The ${event.type} handler failed: ${answer.error ?? `status ${status}`}`,
    );
  }
  return answer.result ?? null;
}
