import type { FastifyInstance } from "fastify";
import { listRequestsQuery, type RequestView, setVisorBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { isReservedPath } from "../../gateway/reserved-path.js";
import type { StoredRequest } from "../../store/requests.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

// Hop-by-hop and length headers are the transport's business; a replay sends its own.
const NOT_REPLAYED = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "expect"]);

function summary(request: StoredRequest): RequestView {
  return {
    id: request.id,
    time: new Date(request.ts).toISOString(),
    method: request.method,
    path: request.path,
    status: request.status,
    durationMs: request.durationMs,
    requestBytes: request.requestBytes,
    responseBytes: request.responseBytes,
    instance: request.instanceId,
    cold: request.cold,
    timings: request.timings,
    client: request.client ?? null,
  };
}

async function found(ctx: ApiContext, microId: string, id: string): Promise<StoredRequest> {
  const request = await ctx.store.requests.byId(microId, Number(id));
  if (!request)
    throw new MicrosError(
      "ERR_NOT_FOUND",
      `The visor has no request ${id} for this micro (it keeps the last 1000, for 7 days).`,
    );
  return request;
}

/** The visor: every request through the gateway, per micro, with bodies when the micro asks for them. */
export function visorRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.patch<{ Params: { id: string } }>("/micros/:id/visor", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { enabled } = parse(setVisorBody, request.body, "visor");
    await ctx.store.micros.setVisor(micro.id, enabled);
    return { micro: await describeMicro(ctx, (await ctx.store.micros.byId(micro.id)) ?? micro) };
  });

  app.get<{ Params: { id: string } }>("/micros/:id/requests", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { limit } = parse(listRequestsQuery, request.query, "query");
    await ctx.visor.flush();
    return { requests: (await ctx.store.requests.list(micro.id, limit)).map(summary) };
  });

  app.get<{ Params: { id: string; rid: string } }>("/micros/:id/requests/:rid", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    await ctx.visor.flush();
    const stored = await found(ctx, micro.id, request.params.rid);
    return {
      request: {
        ...summary(stored),
        requestHeaders: stored.requestHeaders,
        requestBody: stored.requestBody?.toString("base64") ?? null,
        responseBody: stored.responseBody?.toString("base64") ?? null,
      },
    };
  });

  /** Sends a recorded request to the micro again and answers what it answers now. */
  app.post<{ Params: { id: string; rid: string } }>("/micros/:id/requests/:rid/replay", async (request, reply) => {
    // First, before anything can wait: a caller that goes away aborts the replay.
    const caller = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) caller.abort(new Error("the caller closed the connection"));
    });
    const micro = await ownedMicro(ctx, request, request.params.id);
    await ctx.visor.flush();
    const stored = await found(ctx, micro.id, request.params.rid);
    const body = stored.requestBody;
    if (isReservedPath(stored.path)) {
      throw new MicrosError(
        "ERR_VALIDATION",
        `Request ${stored.id} was for a path reserved for the platform; it was never served.`,
      );
    }
    if (stored.requestBytes > (body?.length ?? 0)) {
      throw new MicrosError(
        "ERR_VALIDATION",
        body
          ? `Request ${stored.id} had a body of ${stored.requestBytes} bytes, more than the visor keeps; it cannot be replayed whole.`
          : `Request ${stored.id} had a body, which the visor did not record: \`micros visor enable\` records bodies from now on.`,
      );
    }
    const headers = (stored.requestHeaders ?? []).filter(([name]) => !NOT_REPLAYED.has(name.toLowerCase()));
    // Raw header lists get no defaults from Node: HTTP/1.1 needs a Host.
    if (!headers.some(([name]) => name.toLowerCase() === "host")) headers.unshift(["host", "localhost"]);
    const answer = await ctx.dispatcher.call(
      micro,
      { method: stored.method, path: stored.path, headers: headers.flat(), body: body?.length ? body : undefined },
      { timeoutMs: ctx.limits.effective(micro.limits).timeoutMs, signal: caller.signal },
    );
    return { status: answer.status, headers: answer.headers, body: answer.body.toString("base64") };
  });
}
