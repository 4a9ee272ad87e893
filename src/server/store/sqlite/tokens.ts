import { newId } from "../ids.js";
import { hashSecret } from "../token-hash.js";
import {
  type AccessToken,
  judgeToken,
  mintToken,
  type TokenCheck,
  type TokenRow,
  type Tokens,
  tokenNameTaken,
  toToken,
} from "../tokens.js";
import type { Db } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class SqliteTokens implements Tokens {
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

  async issue(
    userId: string,
    name: string,
    expiresAt: number | null = null,
  ): Promise<{ token: string; info: AccessToken }> {
    const minted = mintToken(this.now(), name, expiresAt);
    try {
      this.db
        .prepare(
          "INSERT INTO tokens (id, user_id, name, hash, prefix, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(newId(), userId, name, hashSecret(minted.token), minted.info.prefix, minted.info.createdAt, expiresAt);
    } catch (err) {
      // The unique index on (user_id, name) is the check: it holds against a concurrent issue too.
      throw isUniqueViolation(err) ? tokenNameTaken(name, err) : err;
    }
    return minted;
  }

  async list(userId: string): Promise<AccessToken[]> {
    const rows = this.db.prepare("SELECT * FROM tokens WHERE user_id = ? ORDER BY name").all(userId) as TokenRow[];
    return rows.map(toToken);
  }

  async revoke(userId: string, name: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM tokens WHERE user_id = ? AND name = ?").run(userId, name).changes > 0;
  }

  async check(token: string): Promise<TokenCheck> {
    const row = this.byHashStmt.get(hashSecret(token)) as TokenRow | undefined;
    const now = this.now();
    const { check, touch } = judgeToken(row, now);
    if (touch && row) this.touchStmt.run(now, row.id);
    return check;
  }
}
