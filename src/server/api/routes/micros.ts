import type { FastifyInstance } from "fastify";
import { createMicroBody, listMicrosQuery } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, currentUser, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

export function microRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/micros", async (request) => {
    const user = currentUser(request);
    const query = parse(listMicrosQuery, request.query, "query");
    let projectId: string | undefined;
    if (query.project) {
      const project = ctx.store.projects.byName(user.id, query.project);
      if (!project) return { micros: [] };
      projectId = project.id;
    }
    const micros = ctx.store.micros
      .listByOwner(user.id, projectId)
      .filter((micro) => query.name === undefined || micro.name === query.name);
    return { micros: micros.map((micro) => describeMicro(ctx, micro)) };
  });

  app.post("/micros", async (request, reply) => {
    const user = currentUser(request);
    const body = parse(createMicroBody, request.body, "micro");
    const runtime = ctx.runtimes.resolve(body.runtime);
    const project = ctx.store.projects.ensure(user.id, body.project);
    if (ctx.store.micros.byName(project.id, body.name)) {
      throw new MicrosError(
        "ERR_NAME_TAKEN",
        `The project ${project.name} already has a micro named ${body.name}. Choose another with --name, or \`micros clone --name ${body.name}\` to work on it.`,
      );
    }
    const micro = ctx.store.micros.create({ projectId: project.id, name: body.name, runtime });
    return reply.status(201).send({ micro: describeMicro(ctx, micro) });
  });

  app.delete<{ Params: { id: string } }>("/micros/:id", async (request, reply) => {
    const micro = ownedMicro(ctx, request, request.params.id);
    await ctx.instances.stopAll(micro.id);
    ctx.logs.forget(micro.id);
    ctx.store.micros.delete(micro.id);
    await ctx.deployer.removeAll(micro.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { id: string } }>("/micros/:id", async (request) => ({
    micro: describeMicro(ctx, ownedMicro(ctx, request, request.params.id)),
  }));
}
