import type { IncomingMessage } from "node:http";
import { MicrosError } from "../../shared/errors.js";
import type { Micro } from "../store/micros.js";
import type { Store } from "../store/store.js";

/**
 * Whether a request may reach the micro, and which of its headers carried the platform's own credentials: those
 * are the platform's business and never reach the app (a platform access token would open the whole control API
 * to the app that saw it).
 */
export interface Access {
  allowed: boolean;
  /** Lower-case names of headers to drop before the request reaches the app. */
  platformHeaders: readonly string[];
}

export type AccessCheck = (micro: Micro, req: IncomingMessage) => Promise<Access>;

const PUBLIC: Access = { allowed: true, platformHeaders: [] };

/**
 * Who may call a private micro: a request with one of its API keys in
 * X-API-Key, or one carrying its owner's access token. Public micros answer
 * everyone, and their requests pass unchanged: an Authorization header there
 * is the app's own business.
 */
export function createAccessCheck(store: Store): AccessCheck {
  return async (micro, req) => {
    if (!micro.httpAuth) return PUBLIC;
    const platformHeaders: string[] = [];
    let allowed = false;
    const key = req.headers["x-api-key"];
    if (typeof key === "string" && (await store.apiKeys.opens(micro.id, key))) {
      allowed = true;
      platformHeaders.push("x-api-key");
    }
    const authorization = req.headers.authorization;
    if (authorization?.startsWith("Bearer ")) {
      const user = await store.users.byToken(authorization.slice("Bearer ".length).trim());
      // Any user's platform token is dropped; only the owner's opens the micro.
      if (user) {
        platformHeaders.push("authorization");
        if ((await store.projects.byId(micro.projectId))?.ownerId === user.id) allowed = true;
      }
    }
    return { allowed, platformHeaders };
  };
}

export function unauthorized(micro: Micro): MicrosError {
  return new MicrosError(
    "ERR_UNAUTHORIZED",
    `The micro ${micro.name} is private: send one of its API keys in the X-API-Key header (\`micros auth create-api-key\`).`,
  );
}
