import type { EnvVars, SealedVar } from "../env-vars.js";
import type { Db } from "./database.js";

export class SqliteEnvVars implements EnvVars {
  constructor(private readonly db: Db) {}

  async names(microId: string): Promise<string[]> {
    const rows = this.db.prepare("SELECT key FROM env_vars WHERE micro_id = ? ORDER BY key").all(microId) as {
      key: string;
    }[];
    return rows.map((row) => row.key);
  }

  async sealed(microId: string): Promise<SealedVar[]> {
    return this.db
      .prepare("SELECT key, value FROM env_vars WHERE micro_id = ? ORDER BY key")
      .all(microId) as SealedVar[];
  }

  async update(microId: string, set: SealedVar[], remove: string[]): Promise<void> {
    this.db.transaction(() => {
      const drop = this.db.prepare("DELETE FROM env_vars WHERE micro_id = ? AND key = ?");
      for (const key of remove) drop.run(microId, key);
      const upsert = this.db.prepare(
        "INSERT INTO env_vars (micro_id, key, value) VALUES (?, ?, ?) ON CONFLICT (micro_id, key) DO UPDATE SET value = excluded.value",
      );
      for (const { key, value } of set) upsert.run(microId, key, value);
    })();
  }

  async replace(microId: string, sealed: SealedVar[]): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM env_vars WHERE micro_id = ?").run(microId);
      const insert = this.db.prepare("INSERT INTO env_vars (micro_id, key, value) VALUES (?, ?, ?)");
      for (const { key, value } of sealed) insert.run(microId, key, value);
    })();
  }
}
