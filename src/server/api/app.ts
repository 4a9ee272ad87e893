import Fastify, { type FastifyServerFactory, LogController } from "fastify";
import type { Logger } from "pino";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { User } from "../store/users.js";
import type { ApiContext } from "./context.js";
import { authRoutes } from "./routes/auth.js";
import { cronRoutes } from "./routes/cron.js";
import { envRoutes } from "./routes/env.js";
import { limitRoutes } from "./routes/limits.js";
import { logRoutes } from "./routes/logs.js";
import { microRoutes } from "./routes/micros.js";
import { projectRoutes } from "./routes/projects.js";
import { releaseRoutes } from "./routes/releases.js";
import { runRoutes } from "./routes/run.js";
import { userRoutes } from "./routes/users.js";
import { visorRoutes } from "./routes/visor.js";

declare module "fastify" {
  interface FastifyRequest {
    user: User | undefined;
  }
}

/** Fastify's own error codes that a client can cause, as ours. */
function fromFastify(err: { code?: string; statusCode?: number; message: string }): MicrosError | undefined {
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new MicrosError("ERR_UNSUPPORTED_MEDIA_TYPE", err.message);
  }
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new MicrosError("ERR_PAYLOAD_TOO_LARGE", err.message);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new MicrosError("ERR_VALIDATION", err.message);
  }
  return undefined;
}

/** The control plane: JSON over HTTP under /v1, every route but /healthz behind an access token. */
export function buildApi(ctx: ApiContext, logger: Logger, serverFactory: FastifyServerFactory) {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory,
    bodyLimit: 1024 * 1024,
  });
  app.decorateRequest("user", undefined);

  // Code arrives as a gzip'd tar stream; the deployer reads and limits it itself.
  app.addContentTypeParser(["application/gzip", "application/x-gzip"], (_request, payload, done) =>
    done(null, payload),
  );

  app.addHook("onRequest", async (request) => {
    if (request.url === "/healthz") return;
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    request.user = token ? ctx.store.users.byToken(token) : undefined;
    if (!request.user) {
      throw new MicrosError(
        "ERR_UNAUTHORIZED",
        token
          ? "The access token is not valid. Log in again with `micros login --token <token>`."
          : "No access token was sent. Log in with `micros login` or set MICROS_ACCESS_TOKEN.",
      );
    }
  });

  app.setErrorHandler((err, _request, reply) => {
    const error =
      err instanceof MicrosError
        ? err
        : (fromFastify(err as Error & { code?: string; statusCode?: number }) ?? toMicrosError(err));
    if (error.code === "ERR_INTERNAL") app.log.error({ err }, "request failed");
    return reply.status(error.status).send(error.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new MicrosError("ERR_NOT_FOUND", `No API route ${request.method} ${request.url}. See docs/api.md.`);
    return reply.status(error.status).send(error.toBody());
  });

  app.get("/healthz", async () => ({ ok: true }));
  app.register(
    async (v1) => {
      userRoutes(v1, ctx);
      projectRoutes(v1, ctx);
      microRoutes(v1, ctx);
      releaseRoutes(v1, ctx);
      envRoutes(v1, ctx);
      limitRoutes(v1, ctx);
      authRoutes(v1, ctx);
      runRoutes(v1, ctx);
      cronRoutes(v1, ctx);
      visorRoutes(v1, ctx);
      logRoutes(v1, ctx);
    },
    { prefix: "/v1" },
  );
  return app;
}
