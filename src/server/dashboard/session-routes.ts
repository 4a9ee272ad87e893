import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { SessionView } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import { type ApiContext, currentUser } from "../api/context.js";
import { parse } from "../api/validate.js";
import type { Sessions } from "./session.js";

const signInBody = z.strictObject({ token: z.string().trim().min(1).max(200) });

/** Signing in and out need no session: the auth hook lets these two through. */
export function isSessionChange(request: FastifyRequest): boolean {
  return request.url === "/v1/session" && (request.method === "POST" || request.method === "DELETE");
}

/** The dashboard's sign-in, its session (with the CSRF token) and sign-out. */
export function sessionRoutes(app: FastifyInstance, ctx: ApiContext, sessions: Sessions): void {
  app.post("/session", async (request, res): Promise<SessionView> => {
    const { token } = parse(signInBody, request.body, "sign-in");
    const user = await ctx.store.users.byToken(token);
    if (!user) {
      throw new MicrosError(
        "ERR_UNAUTHORIZED",
        "That access token is not valid. The admin's is in <data-dir>/admin-token on the server.",
      );
    }
    sessions.setCookie(request, res, token);
    return { user, csrfToken: sessions.csrfFor(token) };
  });

  app.get("/session", async (request): Promise<SessionView> => {
    const user = currentUser(request);
    const token = request.headers.authorization ? undefined : sessions.tokenOf(request);
    return { user, csrfToken: token === undefined ? null : sessions.csrfFor(token) };
  });

  // Ends the browser's session only: the token itself stays valid (it may be the CLI's too).
  app.delete("/session", async (request, res) => {
    sessions.clearCookie(request, res);
    return res.status(204).send();
  });
}
