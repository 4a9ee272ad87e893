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
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class PgTokens implements Tokens {
  constructor(
    private readonly db: PgDb,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(
    userId: string,
    name: string,
    expiresAt: number | null = null,
  ): Promise<{ token: string; info: AccessToken }> {
    const minted = mintToken(this.now(), name, expiresAt);
    try {
      await this.db.run(
        "INSERT INTO tokens (id, user_id, name, hash, prefix, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [newId(), userId, name, hashSecret(minted.token), minted.info.prefix, minted.info.createdAt, expiresAt],
      );
    } catch (err) {
      // The unique constraint on (user_id, name) is the check: it holds against a concurrent issue too.
      throw isUniqueViolation(err) ? tokenNameTaken(name, err) : err;
    }
    return minted;
  }

  async list(userId: string): Promise<AccessToken[]> {
    const rows = await this.db.rows<TokenRow>("SELECT * FROM tokens WHERE user_id = $1 ORDER BY name", [userId]);
    return rows.map(toToken);
  }

  async revoke(userId: string, name: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM tokens WHERE user_id = $1 AND name = $2", [userId, name])) > 0;
  }

  async check(token: string): Promise<TokenCheck> {
    const row = await this.db.row<TokenRow>("SELECT * FROM tokens WHERE hash = $1", [hashSecret(token)]);
    const now = this.now();
    const { check, touch } = judgeToken(row, now);
    if (touch && row) await this.db.run("UPDATE tokens SET last_used_at = $1 WHERE id = $2", [now, row.id]);
    return check;
  }
}
