import type { FastifyInstance } from "fastify";
import { createProjectBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";
import { projectView } from "../views.js";

export function projectRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/projects", async (request) => ({
    projects: ctx.store.projects.list(currentUser(request).id).map(projectView),
  }));

  app.post("/projects", async (request, reply) => {
    const user = currentUser(request);
    const { name } = parse(createProjectBody, request.body, "project");
    if (ctx.store.projects.byName(user.id, name)) {
      throw new MicrosError("ERR_NAME_TAKEN", `You already have a project named ${name}.`);
    }
    return reply.status(201).send({ project: projectView(ctx.store.projects.create(user.id, name)) });
  });
}
