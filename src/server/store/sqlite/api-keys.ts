import { type ApiKey, type ApiKeyRow, type ApiKeys, apiKeyNameTaken, mintApiKey, toKey } from "../api-keys.js";
import { newId } from "../ids.js";
import { hashSecret } from "../token-hash.js";
import type { Db } from "./database.js";
import { isUniqueViolation } from "./errors.js";

export class SqliteApiKeys implements ApiKeys {
  private readonly byHashStmt;

  constructor(private readonly db: Db) {
    this.byHashStmt = db.prepare("SELECT micro_id FROM api_keys WHERE hash = ?");
  }

  async create(microId: string, name: string, description: string): Promise<{ key: string; apiKey: ApiKey }> {
    const { prefix, key } = mintApiKey();
    const createdAt = Date.now();
    try {
      this.db
        .prepare(
          "INSERT INTO api_keys (id, micro_id, name, description, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .run(newId(), microId, name, description, prefix, hashSecret(key), createdAt);
    } catch (err) {
      throw isUniqueViolation(err) ? apiKeyNameTaken(name, err) : err;
    }
    return { key, apiKey: { name, description, prefix, createdAt } };
  }

  async byName(microId: string, name: string): Promise<ApiKey | undefined> {
    const row = this.db.prepare("SELECT * FROM api_keys WHERE micro_id = ? AND name = ?").get(microId, name) as
      | ApiKeyRow
      | undefined;
    return row && toKey(row);
  }

  async list(microId: string): Promise<ApiKey[]> {
    const rows = this.db.prepare("SELECT * FROM api_keys WHERE micro_id = ? ORDER BY name").all(microId) as ApiKeyRow[];
    return rows.map(toKey);
  }

  async delete(microId: string, name: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM api_keys WHERE micro_id = ? AND name = ?").run(microId, name).changes > 0;
  }

  async opens(microId: string, key: string): Promise<boolean> {
    const row = this.byHashStmt.get(hashSecret(key)) as { micro_id: string } | undefined;
    return row?.micro_id === microId;
  }
}
