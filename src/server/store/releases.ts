import type { InstallKind } from "../runtimes/runtime.js";
import type { Db } from "./database.js";
import { newId } from "./ids.js";

export interface Release {
  id: string;
  microId: string;
  version: number;
  codeBytes: number;
  fileCount: number;
  install: InstallKind;
  createdAt: number;
}

interface ReleaseRow {
  id: string;
  micro_id: string;
  version: number;
  code_bytes: number;
  file_count: number;
  install: InstallKind;
  created_at: number;
}

function toRelease(row: ReleaseRow): Release {
  return {
    id: row.id,
    microId: row.micro_id,
    version: row.version,
    codeBytes: row.code_bytes,
    fileCount: row.file_count,
    install: row.install,
    createdAt: row.created_at,
  };
}

export class Releases {
  constructor(private readonly db: Db) {}

  newId(): string {
    return newId();
  }

  /** Records a built release and makes it the one that serves, in one transaction. */
  activate(release: Omit<Release, "version" | "createdAt">): Release {
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

  /** Makes a kept release the one that serves again. */
  makeCurrent(microId: string, releaseId: string): void {
    this.db
      .prepare("UPDATE micros SET current_release_id = ?, updated_at = ? WHERE id = ?")
      .run(releaseId, Date.now(), microId);
  }

  byId(id: string): Release | undefined {
    const row = this.db.prepare("SELECT * FROM releases WHERE id = ?").get(id) as ReleaseRow | undefined;
    return row && toRelease(row);
  }

  list(microId: string): Release[] {
    const rows = this.db
      .prepare("SELECT * FROM releases WHERE micro_id = ? ORDER BY version DESC")
      .all(microId) as ReleaseRow[];
    return rows.map(toRelease);
  }

  /** Forgets all but the newest `keep` releases (never the current one) and returns the ids dropped. */
  prune(microId: string, keep: number): string[] {
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
