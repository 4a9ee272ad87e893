import { type ApiKey, type ApiKeyRow, type ApiKeys, apiKeyNameTaken, mintApiKey, toKey } from "../api-keys.js";
import { newId } from "../ids.js";
import { hashSecret } from "../token-hash.js";
import type { PgDb } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class PgApiKeys implements ApiKeys {
  constructor(private readonly db: PgDb) {}

  async create(microId: string, name: string, description: string): Promise<{ key: string; apiKey: ApiKey }> {
    const { prefix, key } = mintApiKey();
    const createdAt = Date.now();
    try {
      await this.db.run(
        `INSERT INTO api_keys (id, micro_id, name, description, prefix, hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [newId(), microId, name, description, prefix, hashSecret(key), createdAt],
      );
    } catch (err) {
      throw isUniqueViolation(err) ? apiKeyNameTaken(name, err) : err;
    }
    return { key, apiKey: { name, description, prefix, createdAt } };
  }

  async byName(microId: string, name: string): Promise<ApiKey | undefined> {
    const row = await this.db.row<ApiKeyRow>("SELECT * FROM api_keys WHERE micro_id = $1 AND name = $2", [
      microId,
      name,
    ]);
    return row && toKey(row);
  }

  async list(microId: string): Promise<ApiKey[]> {
    const rows = await this.db.rows<ApiKeyRow>("SELECT * FROM api_keys WHERE micro_id = $1 ORDER BY name", [microId]);
    return rows.map(toKey);
  }

  async delete(microId: string, name: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM api_keys WHERE micro_id = $1 AND name = $2", [microId, name])) > 0;
  }

  async opens(microId: string, key: string): Promise<boolean> {
    const row = await this.db.row<{ micro_id: string }>("SELECT micro_id FROM api_keys WHERE hash = $1", [
      hashSecret(key),
    ]);
    return row?.micro_id === microId;
  }
}
