import type { FastifyInstance } from "fastify";
import { type LogView, logsQuery } from "../../../shared/api.js";
import { parseDuration } from "../../../shared/duration.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, ownedMicro } from "../context.js";
import { parse } from "../validate.js";
import { logView } from "../views.js";

const HEARTBEAT_MS = 15_000;
/**
 * What a follower may have waiting unsent before new lines are skipped for it. A client that stops reading (or
 * reads more slowly than its micro prints) costs the daemon this much at most; once it has caught up it is told
 * how many lines it missed, and goes on from the newest.
 */
const FOLLOWER_BUFFER_BYTES = 256 * 1024;

/** `since` is a duration back from now (`10m`) or a point in time (ISO 8601). */
function sinceToTs(since: string | undefined): number | undefined {
  if (since === undefined) return undefined;
  const back = parseDuration(since);
  if (back !== undefined) return Date.now() - back;
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `since must be a duration such as 10m or 2h, or an ISO 8601 time; got ${since}.`,
    );
  }
  return at;
}

export function logRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { id: string } }>("/micros/:id/logs", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const query = parse(logsQuery, request.query, "query");
    await ctx.logs.flush();
    const lines = (await ctx.store.logs.list(micro.id, { sinceTs: sinceToTs(query.since), limit: query.limit })).map(
      logView,
    );
    if (query.follow !== "true" && query.follow !== "1") return { logs: lines };

    // Following: newline-delimited JSON, the backlog first, then each line as it is written.
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
    let skipped = 0;
    let lastId = 0;
    const send = (text: string) => {
      if (res.writableLength <= FOLLOWER_BUFFER_BYTES) {
        res.write(text);
        return true;
      }
      if (skipped === 0) {
        request.log.warn({ micro: micro.id }, "a log follower reads more slowly than its micro prints; skipping lines");
      }
      return false;
    };
    const stop = ctx.logs.follow(
      micro.id,
      (line) => {
        lastId = line.id;
        if (!send(`${JSON.stringify(logView(line))}\n`)) skipped++;
      },
      lines.at(-1)?.id ?? (await ctx.store.logs.lastId(micro.id)),
    );
    const caughtUp = () => {
      if (skipped === 0) return;
      const notice: LogView = {
        id: lastId,
        time: new Date().toISOString(),
        source: "platform",
        instance: null,
        message: `${skipped} lines skipped: this client read more slowly than the micro printed (\`micros logs\` has them)`,
      };
      request.log.warn({ micro: micro.id, skipped }, "a log follower caught up after lines were skipped for it");
      skipped = 0;
      res.write(`${JSON.stringify(notice)}\n`);
    };
    res.on("drain", caughtUp);
    const heartbeat = setInterval(() => send("\n"), HEARTBEAT_MS);
    res.once("close", () => {
      stop();
      clearInterval(heartbeat);
    });
  });
}
