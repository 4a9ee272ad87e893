import type { FastifyInstance } from "fastify";
import { type ApiKeyView, createApiKeyBody, setAuthBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import type { ApiKey } from "../../store/api-keys.js";
import { type ApiContext, describeMicro, ownedMicro } from "../context.js";
import { parse } from "../validate.js";

const keyView = (key: ApiKey): ApiKeyView => ({
  name: key.name,
  description: key.description,
  prefix: key.prefix,
  createdAt: new Date(key.createdAt).toISOString(),
});

/** HTTP auth (public or private micros) and the API keys that open private ones. */
export function authRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.patch<{ Params: { id: string } }>("/micros/:id/auth", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { enabled } = parse(setAuthBody, request.body, "auth");
    await ctx.store.micros.setHttpAuth(micro.id, enabled);
    ctx.logs.platform(
      micro.id,
      enabled ? "http auth enabled: the micro is private" : "http auth disabled: the micro is public",
    );
    return { micro: await describeMicro(ctx, (await ctx.store.micros.byId(micro.id)) ?? micro) };
  });

  app.get<{ Params: { id: string } }>("/micros/:id/api-keys", async (request) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    return { apiKeys: (await ctx.store.apiKeys.list(micro.id)).map(keyView) };
  });

  app.post<{ Params: { id: string } }>("/micros/:id/api-keys", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    const { name, description } = parse(createApiKeyBody, request.body, "API key");
    if (await ctx.store.apiKeys.byName(micro.id, name)) {
      throw new MicrosError("ERR_NAME_TAKEN", `The micro already has an API key named ${name}.`);
    }
    const { key, apiKey } = await ctx.store.apiKeys.create(micro.id, name, description);
    return reply.status(201).send({ apiKey: { ...keyView(apiKey), key } });
  });

  app.delete<{ Params: { id: string; name: string } }>("/micros/:id/api-keys/:name", async (request, reply) => {
    const micro = await ownedMicro(ctx, request, request.params.id);
    if (!(await ctx.store.apiKeys.delete(micro.id, request.params.name))) {
      throw new MicrosError("ERR_API_KEY_NOT_FOUND", `The micro has no API key named ${request.params.name}.`);
    }
    return reply.status(204).send();
  });
}
