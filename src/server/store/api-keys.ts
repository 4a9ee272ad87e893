import { randomBytes } from "node:crypto";
import type { Db } from "./database.js";
import { newId } from "./ids.js";
import { hashSecret } from "./token-hash.js";

export interface ApiKey {
  name: string;
  description: string;
  prefix: string;
  createdAt: number;
}

interface ApiKeyRow {
  name: string;
  description: string;
  prefix: string;
  created_at: number;
}

const toKey = (row: ApiKeyRow): ApiKey => ({
  name: row.name,
  description: row.description,
  prefix: row.prefix,
  createdAt: row.created_at,
});

/** Per-micro API keys, as Deta had them: `prefix.secret`, shown once, stored as a hash. */
export class ApiKeys {
  private readonly byHashStmt;

  constructor(private readonly db: Db) {
    this.byHashStmt = db.prepare("SELECT micro_id FROM api_keys WHERE hash = ?");
  }

  /** Creates a key and returns it whole: the only time it exists outside its holder's hands. */
  create(microId: string, name: string, description: string): { key: string; apiKey: ApiKey } {
    const prefix = newId(8);
    const key = `${prefix}.${randomBytes(32).toString("base64url")}`;
    const createdAt = Date.now();
    this.db
      .prepare(
        "INSERT INTO api_keys (id, micro_id, name, description, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(newId(), microId, name, description, prefix, hashSecret(key), createdAt);
    return { key, apiKey: { name, description, prefix, createdAt } };
  }

  byName(microId: string, name: string): ApiKey | undefined {
    const row = this.db.prepare("SELECT * FROM api_keys WHERE micro_id = ? AND name = ?").get(microId, name) as
      | ApiKeyRow
      | undefined;
    return row && toKey(row);
  }

  list(microId: string): ApiKey[] {
    const rows = this.db.prepare("SELECT * FROM api_keys WHERE micro_id = ? ORDER BY name").all(microId) as ApiKeyRow[];
    return rows.map(toKey);
  }

  delete(microId: string, name: string): boolean {
    return this.db.prepare("DELETE FROM api_keys WHERE micro_id = ? AND name = ?").run(microId, name).changes > 0;
  }

  /** Whether `key` opens the micro: on the gateway's path, so one indexed lookup. */
  opens(microId: string, key: string): boolean {
    const row = this.byHashStmt.get(hashSecret(key)) as { micro_id: string } | undefined;
    return row?.micro_id === microId;
  }
}
