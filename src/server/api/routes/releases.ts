import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { DeployView } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { releaseView } from "../views.js";

export function releaseRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { id: string } }>("/micros/:id/releases", async (request) => {
    const micro = ownedMicro(ctx, request, request.params.id);
    return {
      releases: ctx.store.releases.list(micro.id).map((release) => releaseView(release, micro.currentReleaseId)),
    };
  });

  app.post<{ Params: { id: string } }>("/micros/:id/releases", async (request, reply) => {
    const micro = ownedMicro(ctx, request, request.params.id);
    if (!(request.body instanceof Readable)) {
      throw new MicrosError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        "Send the code as a gzip-compressed tar archive (Content-Type: application/gzip).",
      );
    }
    const length = request.headers["content-length"];
    const result = await ctx.deployer.deploy(micro, request.body, length ? Number(length) : undefined);
    const deployed = ctx.store.micros.byId(micro.id) ?? micro;
    const view: DeployView = {
      micro: describeMicro(ctx, deployed),
      release: releaseView(result.release, deployed.currentReleaseId),
      installOutput: result.installOutput,
    };
    return reply.status(201).send(view);
  });
}
