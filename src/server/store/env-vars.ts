import type { Db } from "./database.js";

/** A micro's environment variables, stored sealed; this table never sees a plain value. */
export class EnvVars {
  constructor(private readonly db: Db) {}

  names(microId: string): string[] {
    const rows = this.db.prepare("SELECT key FROM env_vars WHERE micro_id = ? ORDER BY key").all(microId) as {
      key: string;
    }[];
    return rows.map((row) => row.key);
  }

  sealed(microId: string): { key: string; value: Buffer }[] {
    return this.db.prepare("SELECT key, value FROM env_vars WHERE micro_id = ? ORDER BY key").all(microId) as {
      key: string;
      value: Buffer;
    }[];
  }

  /** Sets some names and removes others in one transaction, leaving the rest as they are. */
  update(microId: string, set: { key: string; value: Buffer }[], remove: string[]): void {
    this.db.transaction(() => {
      const drop = this.db.prepare("DELETE FROM env_vars WHERE micro_id = ? AND key = ?");
      for (const key of remove) drop.run(microId, key);
      const upsert = this.db.prepare(
        "INSERT INTO env_vars (micro_id, key, value) VALUES (?, ?, ?) ON CONFLICT (micro_id, key) DO UPDATE SET value = excluded.value",
      );
      for (const { key, value } of set) upsert.run(microId, key, value);
    })();
  }

  /** Replaces the whole set in one transaction: keys not given are removed. */
  replace(microId: string, sealed: { key: string; value: Buffer }[]): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM env_vars WHERE micro_id = ?").run(microId);
      const insert = this.db.prepare("INSERT INTO env_vars (micro_id, key, value) VALUES (?, ?, ?)");
      for (const { key, value } of sealed) insert.run(microId, key, value);
    })();
  }
}
