import type { FastifyInstance } from "fastify";
import { createUserBody } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";

export function userRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/whoami", async (request) => ({ user: currentUser(request) }));

  app.post("/users", async (request, reply) => {
    if (!currentUser(request).isAdmin) throw new MicrosError("ERR_FORBIDDEN", "Only an admin can create users.");
    const { name } = parse(createUserBody, request.body, "user");
    if (ctx.store.users.byName(name)) throw new MicrosError("ERR_NAME_TAKEN", `A user named ${name} already exists.`);
    const user = ctx.store.users.create(name, false);
    const token = ctx.store.users.issueToken(user.id, "initial");
    return reply.status(201).send({ user, token });
  });
}
