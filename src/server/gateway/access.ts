import type { IncomingMessage } from "node:http";
import { MicrosError } from "../../shared/errors.js";
import type { Micro } from "../store/micros.js";
import type { Store } from "../store/store.js";

export type AccessCheck = (micro: Micro, req: IncomingMessage) => boolean;

/**
 * Who may call a private micro: a request with one of its API keys in
 * X-API-Key, or one carrying its owner's access token. Public micros answer
 * everyone.
 */
export function createAccessCheck(store: Store): AccessCheck {
  return (micro, req) => {
    if (!micro.httpAuth) return true;
    const key = req.headers["x-api-key"];
    if (typeof key === "string" && store.apiKeys.opens(micro.id, key)) return true;
    const authorization = req.headers.authorization;
    if (authorization?.startsWith("Bearer ")) {
      const user = store.users.byToken(authorization.slice("Bearer ".length).trim());
      return user !== undefined && store.projects.byId(micro.projectId)?.ownerId === user.id;
    }
    return false;
  };
}

export function unauthorized(micro: Micro): MicrosError {
  return new MicrosError(
    "ERR_UNAUTHORIZED",
    `The micro ${micro.name} is private: send one of its API keys in the X-API-Key header (\`micros auth create-api-key\`).`,
  );
}
