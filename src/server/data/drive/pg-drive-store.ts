import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { SharedBlobs } from "../../blobs/shared-blobs.js";
import type { PgDb, Sql } from "../../store/postgres/database.js";
import { badRequest, DetaError } from "../deta-error.js";
import { contentTypeFor } from "./content-type.js";
import {
  type DriveSummary,
  type Drives,
  type FileInfo,
  ListCollector,
  type ListOptions,
  type ListPage,
  PART_MIN_BYTES,
  type StoredFile,
  UPLOAD_LIFETIME_MS,
} from "./drives.js";
import { QuotaReservations, storageFull } from "./quota.js";

/** Names a listing reads per statement. */
const LIST_CHUNK = 1000;
/** The first key of the advisory lock each project's quota check takes: the bytes of "drve" read as an integer. */
const QUOTA_LOCK = 0x64727665;

interface UploadRow {
  id: string;
  project_id: string;
  drive: string;
  name: string;
  content_type: string | null;
}

const randomId = (bytes = 12) => randomBytes(bytes).toString("hex");

/**
 * PostgreSQL's text cannot hold NUL, and no stored name or upload id has one (nameProblem refuses it), so a name
 * or id with one, which SQLite would simply not find, is answered here without asking.
 */
const hasNul = (text: string) => text.includes("\u0000");

/**
 * Deta Drive on PostgreSQL, shared by every server on the database. A file's record (drive, name, size, type) is a
 * row of `drive_files` naming its bytes by hash; the bytes are a shared blob, stored whole before the row names it,
 * so a reader on any server sees the old file or the new one. A blob no file names any more goes with the blobs'
 * sweep (after its grace period, so a put in flight never loses its bytes). Uploads in parts keep their parts in
 * `drive_upload_parts`, so parts may arrive at different servers; completing one joins them, a part at a time,
 * into a blob.
 *
 * The quota is checked twice: first against what the database holds plus this server's writes under way (as on
 * SQLite, before any byte is stored), then again where the write is recorded, under a per-project lock, against
 * what the database holds, so servers writing at once cannot together go past it.
 */
export class PgDriveStore implements Drives {
  private readonly driveIds = new Map<string, number>();
  private readonly reservations: QuotaReservations;

  constructor(
    private readonly db: PgDb,
    private readonly blobs: SharedBlobs,
    /** Where a file is written before it is stored as a blob (`<data-dir>/drive/tmp`). */
    private readonly tmpDir: string,
    quotaBytes: number,
  ) {
    this.reservations = new QuotaReservations(quotaBytes);
  }

  /** Makes the temporary folder, emptied of what a stopped server left there. */
  async open(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  private async driveId(projectId: string, name: string): Promise<number | undefined> {
    const cacheKey = `${projectId}\u0000${name}`;
    const cached = this.driveIds.get(cacheKey);
    if (cached !== undefined) return cached;
    const row = await this.db.row<{ id: number }>("SELECT id FROM drives WHERE project_id = $1 AND name = $2", [
      projectId,
      name,
    ]);
    if (row) this.driveIds.set(cacheKey, row.id);
    return row?.id;
  }

  /** As bases are: two servers making one at once, the second's insert does nothing and it reads the first's row. */
  private async ensureDrive(projectId: string, name: string): Promise<number> {
    const id = await this.driveId(projectId, name);
    if (id !== undefined) return id;
    await this.db.run(
      "INSERT INTO drives (project_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (project_id, name) DO NOTHING",
      [projectId, name, Date.now()],
    );
    return (await this.driveId(projectId, name)) as number;
  }

  /** Bytes the project's files and unfinished uploads hold in the database. */
  private async stored(projectId: string, on: Sql = this.db): Promise<number> {
    const row = await on.row<{ bytes: number }>(
      `SELECT ((SELECT coalesce(sum(f.size), 0) FROM drive_files f JOIN drives d ON d.id = f.drive_id
                WHERE d.project_id = $1)
             + (SELECT coalesce(sum(bytes), 0) FROM drive_uploads WHERE project_id = $1))::bigint AS bytes`,
      [projectId],
    );
    return row?.bytes ?? 0;
  }

  async usage(projectId: string): Promise<number> {
    const stored = await this.stored(projectId);
    return stored + this.reservations.of(projectId);
  }

  /** This server's writes under way are read after the database's answer, and taken in the same step. */
  private async reserve(projectId: string, bytes: number): Promise<() => void> {
    const stored = await this.stored(projectId);
    return this.reservations.reserve(projectId, stored + this.reservations.of(projectId), bytes);
  }

  /** In a write's transaction: waits for the project's other writes to be recorded, then checks what they left. */
  private async checkQuota(tx: Sql, projectId: string, bytes: number): Promise<void> {
    await tx.run("SELECT pg_advisory_xact_lock($1, hashtext($2))", [QUOTA_LOCK, projectId]);
    const stored = await this.stored(projectId, tx);
    if (stored + bytes > this.reservations.quotaBytes) throw storageFull(stored, this.reservations.quotaBytes);
  }

  /** Stores bytes as a blob, by way of a temporary file that `write` fills. */
  private async storeBlob(write: (file: string) => Promise<void>): Promise<{ hash: string; size: number }> {
    const file = join(this.tmpDir, randomId());
    try {
      await write(file);
      return await this.blobs.put(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  private async upsertFile(on: Sql, driveId: number, name: string, blob: { hash: string; size: number }, type: string) {
    await on.run(
      `INSERT INTO drive_files (drive_id, name, hash, size, content_type, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (drive_id, name) DO UPDATE SET hash = EXCLUDED.hash, size = EXCLUDED.size,
         content_type = EXCLUDED.content_type, created_at = EXCLUDED.created_at`,
      [driveId, name, blob.hash, blob.size, type, Date.now()],
    );
  }

  async put(projectId: string, drive: string, name: string, data: Buffer, declaredType?: string): Promise<void> {
    const release = await this.reserve(projectId, data.length);
    try {
      const blob = await this.storeBlob(async (file) => {
        const handle = await open(file, "wx", 0o600);
        try {
          await handle.writeFile(data);
        } finally {
          await handle.close();
        }
      });
      const id = await this.ensureDrive(projectId, drive);
      await this.db.transaction(async (tx) => {
        await this.checkQuota(tx, projectId, blob.size);
        await this.upsertFile(tx, id, name, blob, contentTypeFor(name, declaredType));
      });
    } finally {
      release();
    }
  }

  private async fileRow(projectId: string, drive: string, name: string) {
    const id = await this.driveId(projectId, drive);
    if (id === undefined || hasNul(name)) return undefined;
    return this.db.row<{ hash: string; size: number; content_type: string }>(
      "SELECT hash, size, content_type FROM drive_files WHERE drive_id = $1 AND name = $2",
      [id, name],
    );
  }

  async stat(projectId: string, drive: string, name: string): Promise<FileInfo | undefined> {
    const row = await this.fileRow(projectId, drive, name);
    return row && { size: row.size, contentType: row.content_type };
  }

  /** The blob is fetched to this server's disk on first use; a blob swept since the row was read is a file gone. */
  async get(projectId: string, drive: string, name: string): Promise<StoredFile | undefined> {
    const row = await this.fileRow(projectId, drive, name);
    if (!row) return undefined;
    const path = await this.blobs.local(row.hash);
    return path === undefined ? undefined : { path, size: row.size, contentType: row.content_type };
  }

  /** Read in chunks of names, so a folder of many files skipped by a listing that is not recursive costs no memory. */
  async list(projectId: string, drive: string, options: ListOptions): Promise<ListPage> {
    const id = await this.driveId(projectId, drive);
    if (id === undefined) return { names: [] };
    const { prefix, last } = options;
    if (hasNul(prefix)) return { names: [] };
    const where = ["drive_id = $1"];
    const params: unknown[] = [id];
    if (prefix) {
      params.push(prefix, `${prefix}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}`);
      where.push("name >= $2", "name <= $3");
    }
    const page = new ListCollector(options);
    // Past "a\0b" are the names past "a": none has a NUL, so the next character of a longer one is above it.
    let cursor = last ? last.split("\u0000")[0] : undefined;
    for (;;) {
      const rows = await this.db.rows<{ name: string }>(
        `SELECT name FROM drive_files WHERE ${[...where, ...(cursor === undefined ? [] : [`name > $${params.length + 1}`])].join(" AND ")}
         ORDER BY name LIMIT ${LIST_CHUNK}`,
        cursor === undefined ? params : [...params, cursor],
      );
      for (const { name } of rows) {
        const full = page.add(name);
        if (full) return full;
      }
      if (rows.length < LIST_CHUNK) return page.end();
      cursor = (rows[rows.length - 1] as { name: string }).name;
    }
  }

  async delete(projectId: string, drive: string, names: string[]): Promise<void> {
    const id = await this.driveId(projectId, drive);
    if (id === undefined) return;
    await this.db.run("DELETE FROM drive_files WHERE drive_id = $1 AND name = ANY($2::text[])", [
      id,
      names.filter((name) => !hasNul(name)),
    ]);
  }

  async startUpload(projectId: string, drive: string, name: string, declaredType?: string): Promise<string> {
    const id = randomId();
    await this.db.run(
      `INSERT INTO drive_uploads (id, project_id, drive, name, content_type, bytes, created_at)
       VALUES ($1, $2, $3, $4, $5, 0, $6)`,
      [id, projectId, drive, name, declaredType ?? null, Date.now()],
    );
    return id;
  }

  /** The upload, when it is this project's, for this drive and name; else 404 or 400. */
  private async upload(projectId: string, drive: string, uploadId: string, name: string): Promise<UploadRow> {
    if (hasNul(uploadId)) throw new DetaError(404, "Upload not found");
    const row = await this.db.row<UploadRow>(
      "SELECT id, project_id, drive, name, content_type FROM drive_uploads WHERE id = $1",
      [uploadId],
    );
    if (!row || row.project_id !== projectId || row.drive !== drive) throw new DetaError(404, "Upload not found");
    if (row.name !== name) throw badRequest("The name is not the one the upload was started with");
    return row;
  }

  /** The part and the upload's count of bytes change together; an upload aborted meanwhile keeps nothing. */
  async putPart(
    projectId: string,
    drive: string,
    uploadId: string,
    name: string,
    part: number,
    data: Buffer,
    declaredType?: string,
  ): Promise<void> {
    await this.upload(projectId, drive, uploadId, name);
    const release = await this.reserve(projectId, data.length);
    try {
      await this.db.transaction(async (tx) => {
        await this.checkQuota(tx, projectId, data.length);
        const upload = await tx.row("SELECT 1 FROM drive_uploads WHERE id = $1 AND project_id = $2 FOR UPDATE", [
          uploadId,
          projectId,
        ]);
        if (!upload) return;
        const previous = await tx.row<{ size: number }>(
          "SELECT octet_length(data) AS size FROM drive_upload_parts WHERE upload_id = $1 AND part = $2",
          [uploadId, part],
        );
        await tx.run(
          `INSERT INTO drive_upload_parts (upload_id, part, data) VALUES ($1, $2, $3)
           ON CONFLICT (upload_id, part) DO UPDATE SET data = EXCLUDED.data`,
          [uploadId, part, data],
        );
        await tx.run(
          "UPDATE drive_uploads SET bytes = bytes + $1, content_type = coalesce($2, content_type) WHERE id = $3",
          [data.length - (previous?.size ?? 0), declaredType ?? null, uploadId],
        );
      });
    } finally {
      release();
    }
  }

  /**
   * Joins the parts, a part in memory at a time, into a temporary file stored as one blob; then the upload's row
   * goes in the same transaction as the file's arrives, so the bytes are counted once throughout.
   */
  async completeUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void> {
    const upload = await this.upload(projectId, drive, uploadId, name);
    const parts = await this.db.rows<{ part: number; size: number }>(
      "SELECT part, octet_length(data) AS size FROM drive_upload_parts WHERE upload_id = $1 ORDER BY part",
      [uploadId],
    );
    for (const { part, size } of parts.slice(0, -1)) {
      if (size < PART_MIN_BYTES) throw badRequest(`Part ${part} is smaller than 5 MB: only the last part may be`);
    }
    const blob = await this.storeBlob(async (file) => {
      const handle = await open(file, "wx", 0o600);
      try {
        for (const { part } of parts) {
          const row = await this.db.row<{ data: Buffer }>(
            "SELECT data FROM drive_upload_parts WHERE upload_id = $1 AND part = $2",
            [uploadId, part],
          );
          // Aborted (or swept) while being joined.
          if (!row) throw new DetaError(404, "Upload not found");
          await handle.write(row.data);
        }
      } finally {
        await handle.close();
      }
    });
    const id = await this.ensureDrive(projectId, drive);
    await this.db.transaction(async (tx) => {
      if ((await tx.run("DELETE FROM drive_uploads WHERE id = $1", [uploadId])) === 0) {
        throw new DetaError(404, "Upload not found");
      }
      await this.upsertFile(tx, id, name, blob, contentTypeFor(name, upload.content_type));
    });
  }

  async abortUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void> {
    await this.upload(projectId, drive, uploadId, name);
    await this.db.run("DELETE FROM drive_uploads WHERE id = $1", [uploadId]);
  }

  /** Also sweeps the shared blobs, which takes the bytes of files deleted or replaced. */
  async sweep(now = Date.now()): Promise<void> {
    await this.db.run("DELETE FROM drive_uploads WHERE created_at < $1", [now - UPLOAD_LIFETIME_MS]);
    await this.blobs.sweep();
  }

  async listDrives(projectId: string): Promise<DriveSummary[]> {
    return this.db.rows<DriveSummary>(
      `SELECT d.name AS name, d.created_at AS "createdAt", count(f.name) AS files,
         coalesce(sum(f.size), 0)::bigint AS bytes
       FROM drives d LEFT JOIN drive_files f ON f.drive_id = d.id WHERE d.project_id = $1
       GROUP BY d.id ORDER BY d.name COLLATE "C"`,
      [projectId],
    );
  }

  /** File records go with their drive, parts with their upload; the blobs, with the blobs' sweep. */
  async removeProject(projectId: string): Promise<void> {
    await this.db.run("DELETE FROM drives WHERE project_id = $1", [projectId]);
    await this.db.run("DELETE FROM drive_uploads WHERE project_id = $1", [projectId]);
    for (const cacheKey of this.driveIds.keys()) {
      if (cacheKey.startsWith(`${projectId}\u0000`)) this.driveIds.delete(cacheKey);
    }
  }
}
