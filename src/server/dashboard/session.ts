import { timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { MicrosError } from "../../shared/errors.js";
import type { ClientOf } from "../gateway/trusted-proxy.js";
import type { Secrets } from "../secrets.js";

/**
 * The dashboard's session: the access token the user signed in with, in an HttpOnly cookie the page's scripts
 * never see. The cookie stands in for `Authorization: Bearer` and is checked the same way on every request
 * (`store.users.byToken`), so a token that is revoked or expires ends its sessions at once. Because a browser sends
 * the cookie by itself, every state-changing call made with it must also carry a CSRF token: a MAC of the session
 * under the server's secret, which the page gets at sign-in and from `GET /v1/session` and sends as a header that
 * another site's page cannot set.
 */
export const SESSION_COOKIE = "micros_session";
export const CSRF_HEADER = "x-csrf-token";

/** Calls that change nothing; every other method needs the CSRF token when it comes with the cookie. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** The cookie outlives the browser's session; the token's own validity is what ends it. */
const COOKIE_MAX_AGE_SECONDS = 30 * 24 * 60 * 60;
/** Access tokens are `micros_` and base64url; anything else in the cookie is not one. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,200}$/;
const CSRF_PURPOSE = "dashboard-csrf";

export class Sessions {
  constructor(
    private readonly secrets: Secrets,
    /** The client's scheme, through trusted proxies: behind one that ends TLS, the cookie must still be Secure. */
    private readonly clientOf: ClientOf,
  ) {}

  /** The access token in the request's session cookie, if it has one. */
  tokenOf(request: FastifyRequest): string | undefined {
    const header = request.headers.cookie;
    if (!header) return undefined;
    for (const part of header.split(";")) {
      const eq = part.indexOf("=");
      if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) {
        const value = part.slice(eq + 1).trim();
        return TOKEN_SHAPE.test(value) ? value : undefined;
      }
    }
    return undefined;
  }

  /** The CSRF token of a session: the same for the session's whole life, and worthless without its cookie. */
  csrfFor(token: string): string {
    return this.secrets.mac(CSRF_PURPOSE, token).toString("base64url");
  }

  /** Refuses a state-changing call made with the session cookie that does not carry the session's CSRF token. */
  requireCsrf(request: FastifyRequest): void {
    if (SAFE_METHODS.has(request.method)) return;
    const token = this.tokenOf(request);
    const sent = request.headers[CSRF_HEADER];
    const expected = token === undefined ? undefined : Buffer.from(this.csrfFor(token));
    const given = typeof sent === "string" ? Buffer.from(sent) : undefined;
    if (!expected || !given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MicrosError(
        "ERR_CSRF",
        `A ${request.method} with the dashboard's session cookie must carry its CSRF token in ${CSRF_HEADER} (from GET /v1/session). Reload the dashboard.`,
      );
    }
  }

  /** Starts a session: HttpOnly so scripts cannot read it, SameSite=Strict so other sites cannot send it. */
  setCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
    reply.header("set-cookie", this.cookie(request, token, COOKIE_MAX_AGE_SECONDS));
  }

  clearCookie(request: FastifyRequest, reply: FastifyReply): void {
    reply.header("set-cookie", this.cookie(request, "", 0));
  }

  private cookie(request: FastifyRequest, value: string, maxAge: number): string {
    const secure = this.clientOf(request.raw).proto === "https" ? "; Secure" : "";
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
  }
}
