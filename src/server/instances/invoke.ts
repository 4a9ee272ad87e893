import { z } from "zod";
import { PROTOCOL } from "../../../runtimes/node/protocol.mjs";
import { MicrosError } from "../../shared/errors.js";
import type { Micro } from "../store/micros.js";
import type { Dispatcher } from "./dispatcher.js";

export interface MicroEvent {
  type: "run" | "cron";
  action: string;
  body: Record<string, unknown>;
}

/** What a runner answers an event with; the app shares the process, so the answer is checked like any input. */
const eventAnswer = z.object({ result: z.unknown().optional(), error: z.string().max(10_000).optional() });

/** Delivers an event to the micro's handler (through the dispatcher, like every request) and returns its result. */
export async function invoke(
  dispatcher: Dispatcher,
  micro: Micro,
  event: MicroEvent,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<unknown> {
  const { status, body } = await dispatcher.call(
    micro,
    {
      method: "POST",
      path: PROTOCOL.eventPath,
      headers: ["host", "localhost", "content-type", "application/json"],
      body: Buffer.from(JSON.stringify(event)),
    },
    options,
  );
  let parsed: z.infer<typeof eventAnswer> | undefined;
  try {
    parsed = eventAnswer.parse(JSON.parse(body.toString("utf8") || "{}"));
  } catch {
    throw new MicrosError(
      "ERR_INSTANCE_PROTOCOL",
      `The micro answered the ${event.type} event with status ${status} and a body that is not the runner's JSON answer; something in the app answers ${PROTOCOL.eventPath} itself.`,
    );
  }
  if (status === 404) {
    throw new MicrosError(
      "ERR_NO_HANDLER",
      `The micro has ${parsed.error ?? "no handler"}. Register one with micros.run("${event.action}", handler) (Node) or @micros.run("${event.action}") (Python).`,
    );
  }
  if (status !== 200) {
    throw new MicrosError(
      "ERR_HANDLER_FAILED",
      `The ${event.type} handler failed: ${parsed.error ?? `status ${status}`}`,
    );
  }
  return parsed.result ?? null;
}
