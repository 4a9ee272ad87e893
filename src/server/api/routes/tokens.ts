import type { FastifyInstance } from "fastify";
import { createTokenBody, nameSchema, type TokenView } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { expiryTime } from "../../../shared/token-expiry.js";
import type { AccessToken } from "../../store/tokens.js";
import type { User } from "../../store/users.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function tokenView(token: AccessToken, now: number): TokenView {
  return {
    name: token.name,
    prefix: token.prefix,
    createdAt: new Date(token.createdAt).toISOString(),
    lastUsedAt: iso(token.lastUsedAt),
    expiresAt: iso(token.expiresAt),
    expired: token.expiresAt !== null && token.expiresAt <= now,
  };
}

/** Issues a token to `user` as the body asks; the token itself is in this answer only. */
export async function issueToken(
  ctx: ApiContext,
  user: User,
  body: unknown,
): Promise<{ token: string; info: TokenView }> {
  const { name, expires } = parse(createTokenBody, body, "token");
  const now = Date.now();
  const { token, info } = await ctx.store.users.tokens.issue(user.id, name, expires ? expiryTime(expires, now) : null);
  return { token, info: tokenView(info, now) };
}

/** A user's own access tokens: more than one (a laptop, CI), each with a name, some expiring, each revocable. */
export function tokenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/tokens", async (request) => {
    const now = Date.now();
    const tokens = await ctx.store.users.tokens.list(currentUser(request).id);
    return { tokens: tokens.map((token) => tokenView(token, now)) };
  });

  app.post("/tokens", async (request, reply) =>
    reply.status(201).send(await issueToken(ctx, currentUser(request), request.body)),
  );

  app.delete<{ Params: { name: string } }>("/tokens/:name", async (request, reply) => {
    const name = parse(nameSchema, request.params.name, "token name");
    if (!(await ctx.store.users.tokens.revoke(currentUser(request).id, name))) {
      throw new MicrosError(
        "ERR_TOKEN_NOT_FOUND",
        `You have no token named ${name}. \`micros tokens list\` lists yours.`,
      );
    }
    return reply.status(204).send();
  });
}
