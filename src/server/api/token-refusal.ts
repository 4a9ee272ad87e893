import { MicrosError } from "../../shared/errors.js";
import type { Users } from "../store/users.js";

/**
 * Why `Users.byToken` refused a token, in words its holder can act on. Only the message depends on this: the
 * decision was byToken's.
 */
export async function tokenRefusal(users: Users, token: string): Promise<MicrosError> {
  const check = await users.tokens.check(token);
  if (check.state === "expired") {
    return new MicrosError(
      "ERR_TOKEN_EXPIRED",
      `The access token ${check.prefix}… (${check.name}) expired at ${new Date(check.expiredAt).toISOString()}. Make a new one with \`micros tokens create <name>\` while logged in with a token that is still valid, or ask an admin for one (\`micros users token <your user>\`); then \`micros login --token <token>\`.`,
      { details: { token: check.name, expiredAt: new Date(check.expiredAt).toISOString() } },
    );
  }
  return new MicrosError(
    "ERR_UNAUTHORIZED",
    "The access token is not valid: the server does not know it, or it was revoked. Log in again with `micros login --token <token>`.",
  );
}
