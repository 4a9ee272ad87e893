import type { FastifyInstance } from "fastify";
import { patchEnvBody, replaceEnvBody } from "../../../shared/api.js";
import { type ApiContext, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

export function envRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** Replaces all of a micro's variables; new instances see them, no redeploy needed. */
  app.put<{ Params: { id: string } }>("/micros/:id/env", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { vars } = parse(replaceEnvBody, request.body, "environment");
    await ctx.store.envVars.replace(
      micro.id,
      Object.entries(vars).map(([key, value]) => ({ key, value: ctx.secrets.seal(value) })),
    );
    ctx.instances.retire(micro.id);
    ctx.logs.platform(micro.id, "environment variables changed; new instances use them");
    return { envVars: await ctx.store.envVars.names(micro.id) };
  });

  /** Sets and removes single variables: the dashboard's edit, which never sees the other values. */
  app.patch<{ Params: { id: string } }>("/micros/:id/env", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { set, remove } = parse(patchEnvBody, request.body, "environment");
    await ctx.store.envVars.update(
      micro.id,
      Object.entries(set).map(([key, value]) => ({ key, value: ctx.secrets.seal(value) })),
      remove,
    );
    ctx.instances.retire(micro.id);
    ctx.logs.platform(micro.id, "environment variables changed; new instances use them");
    return { envVars: await ctx.store.envVars.names(micro.id) };
  });
}
