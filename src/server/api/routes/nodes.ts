import type { FastifyInstance } from "fastify";
import type { NodeView } from "../../../shared/api.js";
import type { ApiContext } from "../context.js";
import { admin } from "./users.js";

export function nodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // A server outside a cluster answers with none: it is all there is.
  app.get("/nodes", async (request) => {
    admin(request, "see the nodes");
    const nodes: NodeView[] = ((await ctx.nodes()) ?? []).map((node) => ({
      ...node,
      startedAt: new Date(node.startedAt).toISOString(),
      heartbeatAt: new Date(node.heartbeatAt).toISOString(),
    }));
    return { cluster: nodes.length > 0, nodes };
  });
}
