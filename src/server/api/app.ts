import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyReply, type FastifyServerFactory, LogController } from "fastify";
import type { Logger } from "pino";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import { Sessions } from "../dashboard/session.js";
import { isSessionChange, sessionRoutes } from "../dashboard/session-routes.js";
import type { User } from "../store/users.js";
import type { ApiContext } from "./context.js";
import { authRoutes } from "./routes/auth.js";
import { cronRoutes } from "./routes/cron.js";
import { dataRoutes } from "./routes/data.js";
import { domainRoutes } from "./routes/domains.js";
import { envRoutes } from "./routes/env.js";
import { limitRoutes } from "./routes/limits.js";
import { logRoutes } from "./routes/logs.js";
import { microRoutes } from "./routes/micros.js";
import { nodeRoutes } from "./routes/nodes.js";
import { projectDataRoutes } from "./routes/project-data.js";
import { projectRoutes } from "./routes/projects.js";
import { releaseRoutes } from "./routes/releases.js";
import { requestSummaryRoutes } from "./routes/request-summary.js";
import { runRoutes } from "./routes/run.js";
import { tokenRoutes } from "./routes/tokens.js";
import { userRoutes } from "./routes/users.js";
import { visorRoutes } from "./routes/visor.js";
import { tokenRefusal } from "./token-refusal.js";

declare module "fastify" {
  interface FastifyRequest {
    user: User | undefined;
  }
}

/** The API's largest JSON body; code uploads are streams and have their own limit. */
const BODY_LIMIT_BYTES = 1024 * 1024;
/** find-my-way's limit on one path parameter; no id or name comes close. */
const MAX_PARAM_LENGTH = 100;

/** What fastify says about a request it refused, in our words. */
const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "The body is not valid JSON.",
  FST_ERR_CTP_EMPTY_JSON_BODY:
    "The body is empty, but its Content-Type says JSON: send a JSON object, or no Content-Type.",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "The body's Content-Type is not one this API reads: send JSON (application/json).",
  FST_ERR_CTP_BODY_TOO_LARGE: `The body is over the API's limit of ${BODY_LIMIT_BYTES / 1024} KB.`,
  FST_ERR_MAX_PARAM_LENGTH: `A part of the path is longer than ${MAX_PARAM_LENGTH} characters; no id or name is that long.`,
  FST_ERR_BAD_URL: "The path is not a valid URL: it has a malformed %-escape.",
};

/** Fastify's own errors that a client can cause, as ours: the status decides the code. */
function fromFastify(err: { code?: string; statusCode?: number; message: string }): MicrosError | undefined {
  const status = err.statusCode ?? (err.code === "FST_ERR_BAD_URL" ? 400 : undefined);
  if (status === undefined || status < 400 || status >= 500) return undefined;
  const message = (err.code && FASTIFY_MESSAGES[err.code]) ?? err.message;
  const details = err.code ? { reason: err.code } : undefined;
  if (status === 413) return new MicrosError("ERR_PAYLOAD_TOO_LARGE", message, { details });
  if (status === 415) return new MicrosError("ERR_UNSUPPORTED_MEDIA_TYPE", message, { details });
  return new MicrosError("ERR_VALIDATION", message, { details });
}

/** A request the HTTP parser refused (before any route): answered in our shape, then the connection is closed. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const error =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? new MicrosError("ERR_CLIENT_TIMEOUT", "The request did not arrive whole in time.")
      : err.code === "HPE_HEADER_OVERFLOW"
        ? new MicrosError("ERR_HEADERS_TOO_LARGE", "The request's headers are too large.")
        : new MicrosError("ERR_VALIDATION", "The request is not valid HTTP.");
  const body = JSON.stringify(error.toBody());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The control plane: JSON over HTTP under /v1, every route but /healthz behind an access token. */
export function buildApi(ctx: ApiContext, logger: Logger, serverFactory: FastifyServerFactory) {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors fastify would answer in its own shape: too-long or malformed paths, requests the parser refused, and
    // requests that arrive while the server closes (answered by the first hook below).
    frameworkErrors: (err, _request, reply) => {
      const error = fromFastify(err) ?? toMicrosError(err);
      void (reply as FastifyReply).status(error.status).send(error.toBody());
    },
    clientErrorHandler: answerClientError,
    return503OnClosing: false,
  });
  app.decorateRequest("user", undefined);
  const sessions = new Sessions(ctx.secrets, ctx.clientOf);

  // Code arrives as a gzip'd tar stream; the deployer reads and limits it itself.
  app.addContentTypeParser(["application/gzip", "application/x-gzip"], (_request, payload, done) =>
    done(null, payload),
  );

  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (request, reply) => {
    if (closing) {
      reply.header("connection", "close");
      throw new MicrosError("ERR_SHUTTING_DOWN", "The server is stopping and takes no new requests; try again soon.");
    }
    if (request.url === "/healthz" || isSessionChange(request)) return;
    const header = request.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : undefined;
    // Without the header, the dashboard's session cookie carries the token (dashboard/session.ts).
    const token = bearer ?? sessions.tokenOf(request);
    request.user = token ? await ctx.store.users.byToken(token) : undefined;
    if (!request.user) {
      if (token) throw await tokenRefusal(ctx.store.users, token);
      throw new MicrosError(
        "ERR_UNAUTHORIZED",
        "No access token was sent. Log in with `micros login` or set MICROS_ACCESS_TOKEN.",
      );
    }
    if (bearer === undefined) sessions.requireCsrf(request);
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
      nodeRoutes(v1, ctx);
      tokenRoutes(v1, ctx);
      projectRoutes(v1, ctx);
      dataRoutes(v1, ctx);
      projectDataRoutes(v1, ctx);
      microRoutes(v1, ctx);
      domainRoutes(v1, ctx);
      releaseRoutes(v1, ctx);
      envRoutes(v1, ctx);
      limitRoutes(v1, ctx);
      authRoutes(v1, ctx);
      runRoutes(v1, ctx);
      cronRoutes(v1, ctx);
      visorRoutes(v1, ctx);
      requestSummaryRoutes(v1, ctx);
      sessionRoutes(v1, ctx, sessions);
      logRoutes(v1, ctx);
    },
    { prefix: "/v1" },
  );
  return app;
}
