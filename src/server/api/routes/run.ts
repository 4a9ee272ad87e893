import type { FastifyInstance } from "fastify";
import { runBody } from "../../../shared/api.js";
import { invoke } from "../../instances/invoke.js";
import { type ApiContext, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

export function runRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Runs one of the app's actions (`micros run`) and answers its result, with the log lines it printed meanwhile. */
  app.post<{ Params: { id: string } }>("/micros/:id/run", async (request) => {
    const micro = ownedMicro(ctx, request, request.params.id);
    const { action, args } = parse(runBody, request.body, "run");
    const logs: string[] = [];
    const stop = ctx.logs.follow(micro.id, (line) => {
      if (line.source !== "platform") logs.push(line.message);
    });
    try {
      const timeoutMs = ctx.limits.effective(micro.limits).timeoutMs;
      const result = await invoke(ctx.instances, micro, { type: "run", action, body: args }, timeoutMs);
      ctx.logs.flush();
      return { result, logs };
    } finally {
      stop();
    }
  });
}
