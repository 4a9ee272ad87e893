import { z } from "zod";
import { PROTOCOL, type RunnerMessage } from "../../../runtimes/node/protocol.mjs";

/**
 * What a runner may say on the control channel. The runner shares its process
 * with the tenant's code, which can write to file descriptor 3 too: every line
 * is untrusted input, checked here, and anything else is the instance's fault.
 */
const SHAPES = {
  ready: z.strictObject({ type: z.literal("ready") }),
  failed: z.strictObject({
    type: z.literal("failed"),
    code: z.enum(PROTOCOL.failureCodes),
    message: z.string().max(PROTOCOL.maxReasonChars),
  }),
} satisfies Record<(typeof PROTOCOL.runnerMessages)[number], z.ZodType>;

const runnerMessage = z.discriminatedUnion("type", [SHAPES.ready, SHAPES.failed]);

export type ParsedLine = { ok: true; message: RunnerMessage } | { ok: false; problem: string };

/** One line from the control channel as a message, or what is wrong with it (in words, for the logs). */
export function parseControlLine(line: string, cut: boolean): ParsedLine {
  if (cut) return { ok: false, problem: `a line longer than ${PROTOCOL.maxMessageBytes} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, problem: `not JSON: ${JSON.stringify(line.slice(0, 80))}` };
  }
  const parsed = runnerMessage.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
  return { ok: false, problem: `${where}${issue?.message ?? "not a message of the protocol"}` };
}
