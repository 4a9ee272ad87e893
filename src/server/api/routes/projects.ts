import type { FastifyInstance } from "fastify";
import { createProjectBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";
import { projectView } from "../views.js";

export function projectRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/projects", async (request) => ({
    projects: (await ctx.store.projects.list(currentUser(request).id)).map(projectView),
  }));

  /** A new project key; the project's micros restart with it on their next request. */
  app.post<{ Params: { name: string } }>("/projects/:name/rotate-key", async (request) => {
    const user = currentUser(request);
    const project = await ctx.store.projects.byName(user.id, request.params.name);
    if (!project) throw new MicrosError("ERR_NOT_FOUND", `You have no project named ${request.params.name}.`);
    await ctx.projectKeys.rotate(project.id);
    for (const micro of await ctx.store.micros.listByOwner(user.id, project.id)) {
      ctx.instances.retire(micro.id);
      ctx.logs.platform(micro.id, "the project key was rotated; new instances get the new one");
    }
    return { project: projectView(project) };
  });

  app.post("/projects", async (request, reply) => {
    const user = currentUser(request);
    const { name } = parse(createProjectBody, request.body, "project");
    if (await ctx.store.projects.byName(user.id, name)) {
      throw new MicrosError("ERR_NAME_TAKEN", `You already have a project named ${name}.`);
    }
    return reply.status(201).send({ project: projectView(await ctx.store.projects.create(user.id, name)) });
  });
}
