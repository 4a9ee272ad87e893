import type { FastifyInstance, FastifyRequest } from "fastify";
import type { BaseView, DriveView, ProjectKeyView } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import type { Project } from "../../store/projects.js";
import { type ApiContext, currentUser } from "../context.js";
import { projectView } from "../views.js";

/** The caller's project of this name (`default` is made on first use, as everywhere). */
export async function ownedProject(ctx: ApiContext, request: FastifyRequest, name: string): Promise<Project> {
  const user = currentUser(request);
  const project =
    name === "default"
      ? await ctx.store.projects.ensure(user.id, name)
      : await ctx.store.projects.byName(user.id, name);
  if (!project) throw new MicrosError("ERR_NOT_FOUND", `You have no project named ${name}.`);
  return project;
}

/**
 * What the data services cannot tell by themselves: a project's key, for its owner (the CLI and scripts use it with
 * the Base and Drive services, as the project's micros do), and the bases and drives the project has.
 */
export function dataRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { name: string } }>("/projects/:name/key", async (request): Promise<ProjectKeyView> => {
    const project = await ownedProject(ctx, request, request.params.name);
    return { project: projectView(project), key: await ctx.projectKeys.keyFor(project.id) };
  });

  app.get<{ Params: { name: string } }>("/projects/:name/bases", async (request): Promise<{ bases: BaseView[] }> => {
    const project = await ownedProject(ctx, request, request.params.name);
    return {
      bases: (await ctx.data.bases.list(project.id)).map((base) => ({
        name: base.name,
        items: base.items,
        createdAt: new Date(base.createdAt).toISOString(),
      })),
    };
  });

  app.get<{ Params: { name: string } }>("/projects/:name/drives", async (request): Promise<{ drives: DriveView[] }> => {
    const project = await ownedProject(ctx, request, request.params.name);
    return {
      drives: (await ctx.data.drives.listDrives(project.id)).map((drive) => ({
        name: drive.name,
        files: drive.files,
        bytes: drive.bytes,
        createdAt: new Date(drive.createdAt).toISOString(),
      })),
    };
  });
}
