import { randomBytes } from "node:crypto";
import { MicrosError } from "../../shared/errors.js";

const TOKEN_PREFIX = "micros_";
/**
 * `last_used_at` is for people (`micros tokens list`), so minute precision is enough: a token is written to at most
 * once a minute, not on every request it authenticates.
 */
export const LAST_USED_PRECISION_MS = 60_000;

export interface AccessToken {
  name: string;
  /** The token's first characters, to tell it apart from the user's others. */
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** When it stops working; null for never. */
  expiresAt: number | null;
}

/** What a presented token is: one that opens its user's account, an expired one, or one the server does not know. */
export type TokenCheck =
  | { state: "valid"; userId: string }
  | { state: "expired"; name: string; prefix: string; expiredAt: number }
  | { state: "unknown" };

export interface TokenRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
}

export const toToken = (row: TokenRow): AccessToken => ({
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  expiresAt: row.expires_at,
});

/** A new token and what is shown of it; only its hash is ever stored. */
export function mintToken(now: number, name: string, expiresAt: number | null): { token: string; info: AccessToken } {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const info: AccessToken = {
    name,
    prefix: token.slice(0, TOKEN_PREFIX.length + 6),
    createdAt: now,
    lastUsedAt: null,
    expiresAt,
  };
  return { token, info };
}

/** A stored token judged at `now`, and whether its last use is worth writing down. */
export function judgeToken(row: TokenRow | undefined, now: number): { check: TokenCheck; touch: boolean } {
  if (!row) return { check: { state: "unknown" }, touch: false };
  if (row.expires_at !== null && row.expires_at <= now) {
    return { check: { state: "expired", name: row.name, prefix: row.prefix, expiredAt: row.expires_at }, touch: false };
  }
  const touch = row.last_used_at === null || now - row.last_used_at >= LAST_USED_PRECISION_MS;
  return { check: { state: "valid", userId: row.user_id }, touch };
}

export function tokenNameTaken(name: string, cause?: unknown): MicrosError {
  return new MicrosError(
    "ERR_NAME_TAKEN",
    `The user already has a token named ${name}. Choose another name, or revoke that one first (\`micros tokens revoke ${name}\`).`,
    { cause },
  );
}

/**
 * Users' access tokens, kept as hashes. `check` is the one place a presented token is judged (revoked tokens are
 * deleted rows, so they are simply unknown); everything that authenticates people goes through it.
 */
export interface Tokens {
  /** Issues a new token; only its hash is stored, so the caller must hand the token out now. */
  issue(userId: string, name: string, expiresAt?: number | null): Promise<{ token: string; info: AccessToken }>;
  /** A user's tokens, expired ones included (they say so), by name. */
  list(userId: string): Promise<AccessToken[]>;
  /** Deletes the user's token of that name, so it opens nothing from now on; false when there is none. */
  revoke(userId: string, name: string): Promise<boolean>;
  /** Judges a presented token, and notes when it was last used (at most once a minute). */
  check(token: string): Promise<TokenCheck>;
}
