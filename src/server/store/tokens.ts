import { randomBytes } from "node:crypto";
import { MicrosError } from "../../shared/errors.js";
import type { Db } from "./database.js";
import { newId } from "./ids.js";
import { hashSecret } from "./token-hash.js";

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

interface TokenRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
}

const toToken = (row: TokenRow): AccessToken => ({
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  expiresAt: row.expires_at,
});

/**
 * Users' access tokens, kept as hashes. `check` is the one place a presented token is judged (revoked tokens are
 * deleted rows, so they are simply unknown); everything that authenticates people goes through it.
 */
export class Tokens {
  private readonly byHashStmt;
  private readonly touchStmt;

  constructor(
    private readonly db: Db,
    /** The clock, injectable so tests need not wait for a token to expire. */
    private readonly now: () => number = Date.now,
  ) {
    this.byHashStmt = db.prepare("SELECT * FROM tokens WHERE hash = ?");
    this.touchStmt = db.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?");
  }

  /** Issues a new token; only its hash is stored, so the caller must hand the token out now. */
  issue(userId: string, name: string, expiresAt: number | null = null): { token: string; info: AccessToken } {
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    const info: AccessToken = {
      name,
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      createdAt: this.now(),
      lastUsedAt: null,
      expiresAt,
    };
    this.db.transaction(() => {
      if (this.db.prepare("SELECT 1 FROM tokens WHERE user_id = ? AND name = ?").get(userId, name)) {
        throw new MicrosError(
          "ERR_NAME_TAKEN",
          `The user already has a token named ${name}. Choose another name, or revoke that one first (\`micros tokens revoke ${name}\`).`,
        );
      }
      this.db
        .prepare(
          "INSERT INTO tokens (id, user_id, name, hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(newId(), userId, name, hashSecret(token), info.prefix, info.createdAt, expiresAt);
    })();
    return { token, info };
  }

  /** A user's tokens, expired ones included (they say so), by name. */
  list(userId: string): AccessToken[] {
    const rows = this.db.prepare("SELECT * FROM tokens WHERE user_id = ? ORDER BY name").all(userId) as TokenRow[];
    return rows.map(toToken);
  }

  /** Deletes the user's token of that name, so it opens nothing from now on; false when there is none. */
  revoke(userId: string, name: string): boolean {
    return this.db.prepare("DELETE FROM tokens WHERE user_id = ? AND name = ?").run(userId, name).changes > 0;
  }

  /** Judges a presented token, and notes when it was last used (at most once a minute). */
  check(token: string): TokenCheck {
    const row = this.byHashStmt.get(hashSecret(token)) as TokenRow | undefined;
    if (!row) return { state: "unknown" };
    const now = this.now();
    if (row.expires_at !== null && row.expires_at <= now) {
      return { state: "expired", name: row.name, prefix: row.prefix, expiredAt: row.expires_at };
    }
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_PRECISION_MS) this.touchStmt.run(now, row.id);
    return { state: "valid", userId: row.user_id };
  }
}
