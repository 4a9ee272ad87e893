import { newId } from "../ids.js";
import { type Release, type ReleaseRow, type Releases, toRelease } from "../releases.js";
import type { Changes } from "./changes.js";
import type { PgDb } from "./database.js";

export class PgReleases implements Releases {
  constructor(
    private readonly db: PgDb,
    private readonly changes: Changes,
  ) {}

  newId(): string {
    return newId();
  }

  /** The micro's row is locked first, so two activations of one micro number their versions one after the other. */
  async activate(release: Omit<Release, "version" | "createdAt">): Promise<Release> {
    try {
      return await this.db.transaction(async (tx) => {
        await tx.run("SELECT 1 FROM micros WHERE id = $1 FOR UPDATE", [release.microId]);
        const next = await tx.row<{ next: number }>(
          "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE micro_id = $1",
          [release.microId],
        );
        const created: Release = { ...release, version: next?.next ?? 1, createdAt: Date.now() };
        await tx.run(
          `INSERT INTO releases (id, micro_id, version, code_bytes, file_count, install, created_at, content_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            created.id,
            created.microId,
            created.version,
            created.codeBytes,
            created.fileCount,
            created.install,
            created.createdAt,
            created.contentHash ?? null,
          ],
        );
        await tx.run("UPDATE micros SET current_release_id = $1, updated_at = $2 WHERE id = $3", [
          created.id,
          created.createdAt,
          created.microId,
        ]);
        return created;
      });
    } finally {
      this.changes.changed();
    }
  }

  async makeCurrent(microId: string, releaseId: string): Promise<void> {
    try {
      await this.db.run("UPDATE micros SET current_release_id = $1, updated_at = $2 WHERE id = $3", [
        releaseId,
        Date.now(),
        microId,
      ]);
    } finally {
      this.changes.changed();
    }
  }

  async byId(id: string): Promise<Release | undefined> {
    const row = await this.db.row<ReleaseRow>("SELECT * FROM releases WHERE id = $1", [id]);
    return row && toRelease(row);
  }

  async list(microId: string): Promise<Release[]> {
    const rows = await this.db.rows<ReleaseRow>("SELECT * FROM releases WHERE micro_id = $1 ORDER BY version DESC", [
      microId,
    ]);
    return rows.map(toRelease);
  }

  /** One statement: what it deletes is what it returns. */
  async prune(microId: string, keep: number): Promise<string[]> {
    const rows = await this.db.rows<{ id: string }>(
      `DELETE FROM releases WHERE id IN (
         SELECT releases.id FROM releases JOIN micros ON micros.id = releases.micro_id
         WHERE releases.micro_id = $1 AND releases.id IS DISTINCT FROM micros.current_release_id
         ORDER BY releases.version DESC OFFSET $2)
       RETURNING id`,
      [microId, Math.max(keep - 1, 0)],
    );
    return rows.map((row) => row.id);
  }
}
