import type { FastifyInstance } from "fastify";
import { createMicroBody, listMicrosQuery, updateMicroBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, currentUser, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

export function microRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/micros", async (request) => {
    const user = currentUser(request);
    const query = parse(listMicrosQuery, request.query, "query");
    let projectId: string | undefined;
    if (query.project) {
      const project = await ctx.store.projects.byName(user.id, query.project);
      if (!project) return { micros: [] };
      projectId = project.id;
    }
    const micros = (await ctx.store.micros.listByOwner(user.id, projectId)).filter(
      (micro) => query.name === undefined || micro.name === query.name,
    );
    return { micros: await Promise.all(micros.map((micro) => describeMicro(ctx, micro))) };
  });

  app.post("/micros", async (request, reply) => {
    const user = currentUser(request);
    const body = parse(createMicroBody, request.body, "micro");
    const runtime = ctx.runtimes.resolve(body.runtime);
    const project = await ctx.store.projects.ensure(user.id, body.project);
    if (await ctx.store.micros.byName(project.id, body.name)) {
      throw new MicrosError(
        "ERR_NAME_TAKEN",
        `The project ${project.name} already has a micro named ${body.name}. Choose another with --name, or \`micros clone --name ${body.name}\` to work on it.`,
      );
    }
    const micro = await ctx.store.micros.create({ projectId: project.id, name: body.name, runtime });
    return reply.status(201).send({ micro: await describeMicro(ctx, micro) });
  });

  app.patch<{ Params: { id: string } }>("/micros/:id", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const body = parse(updateMicroBody, request.body, "micro");
    if (body.name !== undefined && body.name !== micro.name) {
      if (await ctx.store.micros.byName(micro.projectId, body.name)) {
        throw new MicrosError("ERR_NAME_TAKEN", `The project already has a micro named ${body.name}.`);
      }
      await ctx.store.micros.rename(micro.id, body.name);
      ctx.logs.platform(micro.id, `renamed from ${micro.name} to ${body.name}; the endpoint stays the same`);
    }
    if (body.runtime !== undefined) {
      const runtime = ctx.runtimes.resolve(body.runtime);
      const language = (id: string) => ctx.runtimes.get(id).language;
      if (language(runtime) !== language(micro.runtime)) {
        throw new MicrosError(
          "ERR_VALIDATION",
          `The micro is a ${language(micro.runtime)} micro; it cannot switch to ${runtime}. Create a new micro for another language.`,
        );
      }
      if (runtime !== micro.runtime) {
        await ctx.store.micros.setRuntime(micro.id, runtime);
        ctx.instances.retire(micro.id);
        ctx.logs.platform(micro.id, `runtime changed from ${micro.runtime} to ${runtime}`);
      }
    }
    return { micro: await describeMicro(ctx, (await ctx.store.micros.byId(micro.id)) ?? micro) };
  });

  app.delete<{ Params: { id: string } }>("/micros/:id", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    await ctx.instances.stopAll(micro.id);
    ctx.logs.forget(micro.id);
    await ctx.store.micros.delete(micro.id);
    await ctx.deployer.removeAll(micro.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { id: string } }>("/micros/:id", async (request) => ({
    micro: await describeMicro(ctx, await ownedMicro(ctx, request, request.params.id)),
  }));
}
