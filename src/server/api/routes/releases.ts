import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { type DeployEvent, type DeployView, deployQuery, rollbackBody } from "../../../shared/api.js";
import { MicrosError, toMicrosError } from "../../../shared/errors.js";
import type { DeployResult } from "../../releases/deployer.js";
import type { Release } from "../../store/releases.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";
import { releaseView } from "../views.js";

/** The release a rollback asks for: by version or id, or by default the one before the current. */
function rollbackTarget(releases: Release[], current: string | null, wanted: string | undefined): Release {
  if (wanted === undefined) {
    const index = releases.findIndex((release) => release.id === current);
    const previous = index === -1 ? undefined : releases[index + 1];
    if (!previous) throw new MicrosError("ERR_RELEASE_NOT_FOUND", "There is no earlier release to roll back to.");
    return previous;
  }
  const version = /^v?(\d+)$/.exec(wanted)?.[1];
  const found = releases.find((release) => release.id === wanted || String(release.version) === version);
  if (!found) {
    const kept = releases.map((release) => `v${release.version}`).join(", ");
    throw new MicrosError("ERR_RELEASE_NOT_FOUND", `No kept release ${wanted}. Kept releases: ${kept || "none"}.`);
  }
  return found;
}

export function releaseRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** The current release's code (no installed dependencies) as a gzip'd tar: what `clone` and `pull` fetch. */
  app.get<{ Params: { id: string } }>("/micros/:id/releases/current/archive", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const archive = micro.currentReleaseId ? await ctx.deployer.archive(micro, micro.currentReleaseId) : undefined;
    if (!archive) throw new MicrosError("ERR_NO_RELEASE", `The micro ${micro.name} has no code deployed yet.`);
    return reply.type("application/gzip").send(archive);
  });

  /** The current release's files and their hashes: what an incremental deploy compares the local folder with. */
  app.get<{ Params: { id: string } }>("/micros/:id/releases/current/files", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const files = micro.currentReleaseId ? await ctx.deployer.files(micro, micro.currentReleaseId) : undefined;
    if (!micro.currentReleaseId || !files) {
      throw new MicrosError(
        "ERR_NO_RELEASE",
        `The micro ${micro.name} has no release to compare with; deploy every file.`,
      );
    }
    return { release: micro.currentReleaseId, files };
  });

  /**
   * Switches back to a kept release at once: its code and dependencies are still on disk (or, with PostgreSQL, in
   * the database, for a node that has not fetched them yet).
   */
  app.post<{ Params: { id: string } }>("/micros/:id/rollback", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { release: wanted } = parse(rollbackBody, request.body, "rollback");
    const target = rollbackTarget(await ctx.store.releases.list(micro.id), micro.currentReleaseId, wanted);
    const from = micro.currentReleaseId ? await ctx.store.releases.byId(micro.currentReleaseId) : undefined;
    await ctx.store.releases.makeCurrent(micro.id, target.id);
    ctx.instances.retire(micro.id);
    ctx.logs.platform(micro.id, `rolled back to release v${target.version}${from ? ` (from v${from.version})` : ""}`);
    return { micro: await describeMicro(ctx, (await ctx.store.micros.byId(micro.id)) ?? micro) };
  });

  app.get<{ Params: { id: string } }>("/micros/:id/releases", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    return {
      releases: (await ctx.store.releases.list(micro.id)).map((release) =>
        releaseView(release, micro.currentReleaseId),
      ),
    };
  });

  app.post<{ Params: { id: string } }>("/micros/:id/releases", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    // `?fresh=1` (`micros deploy purge-dependencies`): the dependencies are installed from scratch.
    const { fresh } = parse(deployQuery, request.query, "query");
    const options = { fresh: fresh === "1" || fresh === "true" };
    if (!(request.body instanceof Readable)) {
      throw new MicrosError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        "Send the code as a gzip-compressed tar archive (Content-Type: application/gzip).",
      );
    }
    const length = request.headers["content-length"];
    const declared = length ? Number(length) : undefined;
    const view = async (result: DeployResult): Promise<DeployView> => {
      const deployed = (await ctx.store.micros.byId(micro.id)) ?? micro;
      return {
        micro: await describeMicro(ctx, deployed),
        release: releaseView(result.release, deployed.currentReleaseId),
        installOutput: result.installOutput,
      };
    };
    if (!request.headers.accept?.includes("application/x-ndjson")) {
      return reply
        .status(201)
        .send(await view(await ctx.deployer.deploy(micro, request.body, declared, undefined, options)));
    }
    // Progress as it happens: the status is 200 at once, and the outcome is the last line.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    const send = (event: DeployEvent) => res.write(`${JSON.stringify(event)}\n`);
    try {
      send({
        event: "live",
        result: await view(await ctx.deployer.deploy(micro, request.body, declared, send, options)),
      });
    } catch (err) {
      send({ event: "failed", error: toMicrosError(err).toBody().error });
    }
    res.end();
  });
}
