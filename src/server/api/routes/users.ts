import type { FastifyInstance, FastifyRequest } from "fastify";
import { createUserBody, nameSchema, type UserListView } from "../../../shared/api.js";
import { MicrosError } from "../../../shared/errors.js";
import type { User } from "../../store/users.js";
import { removeUser } from "../../users/remove-user.js";
import { type ApiContext, currentUser } from "../context.js";
import { parse } from "../validate.js";
import { issueToken } from "./tokens.js";

/** The caller, when they are an admin: managing users (and seeing the nodes) is the admin's alone. */
export function admin(request: FastifyRequest, what: string): User {
  const user = currentUser(request);
  if (!user.isAdmin) {
    throw new MicrosError("ERR_FORBIDDEN", `Only an admin can ${what}; you (${user.name}) are not one. Ask an admin.`);
  }
  return user;
}

export function userRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/whoami", async (request) => ({ user: currentUser(request) }));

  app.get("/users", async (request) => {
    admin(request, "list users");
    const users: UserListView[] = (await ctx.store.users.list()).map(({ createdAt, ...user }) => ({
      ...user,
      createdAt: new Date(createdAt).toISOString(),
    }));
    return { users };
  });

  app.post("/users", async (request, reply) => {
    admin(request, "create users");
    const { name, admin: isAdmin } = parse(createUserBody, request.body, "user");
    if (await ctx.store.users.byName(name))
      throw new MicrosError("ERR_NAME_TAKEN", `A user named ${name} already exists.`);
    const user = await ctx.store.users.create(name, isAdmin);
    const token = await ctx.store.users.issueToken(user.id, "initial");
    return reply.status(201).send({ user, token });
  });

  app.delete<{ Params: { name: string } }>("/users/:name", async (request) => {
    const caller = admin(request, "delete users");
    return removeUser(ctx, caller, parse(nameSchema, request.params.name, "user name"));
  });

  // For a user whose every token expired or was lost: they cannot make one themselves.
  app.post<{ Params: { name: string } }>("/users/:name/tokens", async (request, reply) => {
    admin(request, "issue tokens to other users");
    const name = parse(nameSchema, request.params.name, "user name");
    const user = await ctx.store.users.byName(name);
    if (!user) {
      throw new MicrosError("ERR_USER_NOT_FOUND", `There is no user named ${name}. \`micros users list\` lists them.`);
    }
    return reply.status(201).send(await issueToken(ctx, user, request.body));
  });
}
