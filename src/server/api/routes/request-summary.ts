import type { FastifyInstance } from "fastify";
import { type RequestSummaryView, requestSummaryQuery } from "../../../shared/api.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";

/** Requests and errors per micro over a recent window, for all the caller's micros at once (the dashboard's list). */
export function requestSummaryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/requests/summary", async (request): Promise<RequestSummaryView> => {
    const user = currentUser(request);
    const { minutes } = parse(requestSummaryQuery, request.query, "query");
    const since = Date.now() - minutes * 60_000;
    await ctx.visor.flush();
    const micros: RequestSummaryView["micros"] = {};
    for (const row of await ctx.store.requests.countsSince(user.id, since)) {
      micros[row.microId] = { requests: row.requests, errors: row.errors };
    }
    return { since: new Date(since).toISOString(), micros };
  });
}
