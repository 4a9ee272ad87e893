import type { FastifyInstance } from "fastify";
import { addDomainBody, hostNameSchema } from "../../../shared/domains.js";
import { type ApiContext, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

/** A micro's custom domains: host names it answers at besides its subdomain. */
export function domainRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { id: string } }>("/micros/:id/domains", async (request) => ({
    domains: await ctx.customDomains.list(await ownedMicro(ctx, request, request.params.id)),
  }));

  app.post<{ Params: { id: string } }>("/micros/:id/domains", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { host } = parse(addDomainBody, request.body, "domain");
    const domain = await ctx.customDomains.add(micro, host);
    ctx.logs.platform(micro.id, `now also answers at ${domain.endpoint}`);
    return reply.status(201).send({ domain });
  });

  app.delete<{ Params: { id: string; host: string } }>("/micros/:id/domains/:host", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const host = parse(hostNameSchema, request.params.host, "host name");
    await ctx.customDomains.remove(micro, host);
    ctx.logs.platform(micro.id, `no longer answers at ${host}`);
    return reply.status(204).send();
  });
}
