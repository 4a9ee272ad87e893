import type { FastifyInstance } from "fastify";
import { runBody } from "../../../shared/api.js";
import { invoke } from "../../instances/invoke.js";
import { type ApiContext, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

/** Log lines a run answers with at most: an action that prints without end must not grow the daemon. */
const MAX_RUN_LOG_LINES = 1000;

export function runRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Runs one of the app's actions (`micros run`) and answers its result, with the log lines it printed meanwhile. */
  app.post<{ Params: { id: string } }>("/micros/:id/run", async (request, reply) => {
    // First, before anything can wait: a caller that goes away aborts the run's wait and request.
    const caller = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) caller.abort(new Error("the caller closed the connection"));
    });
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { action, args } = parse(runBody, request.body, "run");
    const logs: string[] = [];
    let dropped = 0;
    const stop = ctx.logs.follow(micro.id, (line) => {
      if (line.source === "platform") return;
      if (logs.length < MAX_RUN_LOG_LINES) logs.push(line.message);
      else dropped++;
    });
    try {
      const timeoutMs = ctx.limits.effective(micro.limits).timeoutMs;
      const result = await invoke(
        ctx.dispatcher,
        micro,
        { type: "run", action, body: args },
        { timeoutMs, signal: caller.signal },
      );
      await ctx.logs.flush();
      if (dropped > 0) logs.push(`… ${dropped} more lines (see \`micros logs\`)`);
      return { result, logs };
    } finally {
      stop();
    }
  });
}
