import type { FastifyInstance } from "fastify";
import { setCronBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { nextRun, parseSchedule } from "../../cron/expression.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

export function cronRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Sets the micro's one schedule (replacing any other); the expression is checked here, with the reason if wrong. */
  app.put<{ Params: { id: string } }>("/micros/:id/cron", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { expression } = parse(setCronBody, request.body, "schedule");
    const schedule = parseSchedule(expression);
    await ctx.store.schedules.set(micro.id, schedule.expression, nextRun(schedule, Date.now(), null));
    ctx.logs.platform(micro.id, `schedule set: "${schedule.expression}" (UTC)`);
    return { micro: await describeMicro(ctx, micro) };
  });

  app.delete<{ Params: { id: string } }>("/micros/:id/cron", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    if (!(await ctx.store.schedules.remove(micro.id)))
      throw new MicrosError("ERR_NOT_FOUND", `The micro ${micro.name} has no schedule.`);
    ctx.logs.platform(micro.id, "schedule removed");
    return reply.status(204).send();
  });

  /** Fires the micro's cron handler now, as its schedule would: for trying it out, and for tests. */
  app.post<{ Params: { id: string } }>("/micros/:id/cron/trigger", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const schedule = await ctx.store.schedules.get(micro.id);
    if (!schedule)
      throw new MicrosError(
        "ERR_NOT_FOUND",
        `The micro ${micro.name} has no schedule: set one with \`micros cron set\`.`,
      );
    return ctx.scheduler.run(micro, schedule.expression);
  });
}
