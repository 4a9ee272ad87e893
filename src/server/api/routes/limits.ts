import type { FastifyInstance } from "fastify";
import { updateLimitsBody } from "../../../shared/api.js";
import type { LimitOverrides } from "../../limits.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

const MB = 1024 * 1024;

/** A number converted to the stored unit; null (back to the default) and absent (unchanged) pass through. */
function scaled(value: number | null | undefined, factor: number): number | null | undefined {
  return value == null ? value : Math.round(value * factor);
}

export function limitRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Changes a micro's own limits, each up to the server's maximum. */
  app.patch<{ Params: { id: string } }>("/micros/:id/limits", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const body = parse(updateLimitsBody, request.body, "limits");
    const requested: Partial<LimitOverrides> = {};
    for (const [key, value] of [
      ["memoryBytes", scaled(body.memoryMb, MB)],
      ["timeoutMs", scaled(body.timeoutSeconds, 1000)],
      ["requestBodyBytes", scaled(body.requestBodyMb, MB)],
    ] as const) {
      if (value !== undefined) requested[key] = value;
    }
    ctx.limits.check(requested);
    const limits = { ...micro.limits, ...requested };
    await ctx.store.micros.setLimits(micro.id, limits);
    // Memory is fixed when an instance starts; time and body limits apply to the next request as they are.
    if (requested.memoryBytes !== undefined) ctx.instances.retire(micro.id);
    const updated = (await ctx.store.micros.byId(micro.id)) ?? micro;
    const view = await describeMicro(ctx, updated);
    ctx.logs.platform(
      micro.id,
      `limits changed: memory ${view.limits.memoryMb} MB, request timeout ${view.limits.timeoutSeconds} s, request body ${view.limits.requestBodyMb} MB`,
    );
    return { micro: view };
  });
}
