import type { EnvVars, SealedVar } from "../env-vars.js";
import type { PgDb } from "./database.js";

export class PgEnvVars implements EnvVars {
  constructor(private readonly db: PgDb) {}

  async names(microId: string): Promise<string[]> {
    const rows = await this.db.rows<{ key: string }>("SELECT key FROM env_vars WHERE micro_id = $1 ORDER BY key", [
      microId,
    ]);
    return rows.map((row) => row.key);
  }

  async sealed(microId: string): Promise<SealedVar[]> {
    return this.db.rows<SealedVar>("SELECT key, value FROM env_vars WHERE micro_id = $1 ORDER BY key", [microId]);
  }

  async update(microId: string, set: SealedVar[], remove: string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (remove.length) await tx.run("DELETE FROM env_vars WHERE micro_id = $1 AND key = ANY($2)", [microId, remove]);
      for (const { key, value } of set) {
        await tx.run(
          `INSERT INTO env_vars (micro_id, key, value) VALUES ($1, $2, $3)
           ON CONFLICT (micro_id, key) DO UPDATE SET value = EXCLUDED.value`,
          [microId, key, value],
        );
      }
    });
  }

  async replace(microId: string, sealed: SealedVar[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM env_vars WHERE micro_id = $1", [microId]);
      for (const { key, value } of sealed) {
        await tx.run("INSERT INTO env_vars (micro_id, key, value) VALUES ($1, $2, $3)", [microId, key, value]);
      }
    });
  }
}
