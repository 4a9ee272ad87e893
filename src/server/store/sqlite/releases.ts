import { newId } from "../ids.js";
import { type Release, type ReleaseRow, type Releases, toRelease } from "../releases.js";
import type { Db } from "./database.js";

export class SqliteReleases implements Releases {
  constructor(private readonly db: Db) {}

  newId(): string {
    return newId();
  }

  async activate(release: Omit<Release, "version" | "createdAt">): Promise<Release> {
    return this.db.transaction(() => {
      const { next } = this.db
        .prepare("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE micro_id = ?")
        .get(release.microId) as { next: number };
      const created: Release = { ...release, version: next, createdAt: Date.now() };
      this.db
        .prepare(
          `INSERT INTO releases (id, micro_id, version, code_bytes, file_count, install, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          created.id,
          created.microId,
          next,
          created.codeBytes,
          created.fileCount,
          created.install,
          created.createdAt,
        );
      this.db
        .prepare("UPDATE micros SET current_release_id = ?, updated_at = ? WHERE id = ?")
        .run(created.id, created.createdAt, created.microId);
      return created;
    })();
  }

  async makeCurrent(microId: string, releaseId: string): Promise<void> {
    this.db
      .prepare("UPDATE micros SET current_release_id = ?, updated_at = ? WHERE id = ?")
      .run(releaseId, Date.now(), microId);
  }

  async byId(id: string): Promise<Release | undefined> {
    const row = this.db.prepare("SELECT * FROM releases WHERE id = ?").get(id) as ReleaseRow | undefined;
    return row && toRelease(row);
  }

  async list(microId: string): Promise<Release[]> {
    const rows = this.db
      .prepare("SELECT * FROM releases WHERE micro_id = ? ORDER BY version DESC")
      .all(microId) as ReleaseRow[];
    return rows.map(toRelease);
  }

  async prune(microId: string, keep: number): Promise<string[]> {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT releases.id FROM releases JOIN micros ON micros.id = releases.micro_id
           WHERE releases.micro_id = ? AND releases.id IS NOT micros.current_release_id
           ORDER BY releases.version DESC LIMIT -1 OFFSET ?`,
        )
        .all(microId, Math.max(keep - 1, 0)) as { id: string }[];
      const remove = this.db.prepare("DELETE FROM releases WHERE id = ?");
      for (const row of rows) remove.run(row.id);
      return rows.map((row) => row.id);
    })();
  }
}
