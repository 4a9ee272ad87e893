import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Statement } from "better-sqlite3";
import type { DataDb } from "../data-database.js";
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
import { QuotaReservations } from "./quota.js";

interface UploadRow {
  id: string;
  project_id: string;
  drive: string;
  name: string;
  content_type: string | null;
  bytes: number;
  created_at: number;
}

const randomId = (bytes = 12) => randomBytes(bytes).toString("hex");

/**
 * Deta Drive on the platform's disk. A file's record (drive, name, size, type) is a row in data.db; its content is
 * the blob `<data-dir>/drive/<project>/<blob id>`, written whole under `tmp/`, synced and renamed into place before
 * the row points at it, so a reader sees the old file or the new one, never part of one. Uploads in parts keep
 * their parts in `drive/uploads/<id>/` until they are joined the same way. Each project's files and unfinished
 * parts count against its quota. Each method's database work is synchronous; only the files' are awaited.
 */
export class DriveStore implements Drives {
  private readonly driveIds = new Map<string, number>();
  private readonly reservations: QuotaReservations;
  private readonly statements: {
    findDrive: Statement<[string, string], { id: number }>;
    createDrive: Statement<[string, string, number]>;
    file: Statement<[number, string], { blob: string; size: number; content_type: string }>;
    upsertFile: Statement<[number, string, string, number, string, number]>;
    deleteFile: Statement<[number, string]>;
    filesUsage: Statement<[string], { bytes: number }>;
    uploadsUsage: Statement<[string], { bytes: number }>;
    upload: Statement<[string], UploadRow>;
  };

  constructor(
    private readonly db: DataDb,
    /** `<data-dir>/drive`. */
    private readonly root: string,
    quotaBytes: number,
  ) {
    this.reservations = new QuotaReservations(quotaBytes);
    this.statements = {
      findDrive: db.prepare("SELECT id FROM drives WHERE project_id = ? AND name = ?"),
      createDrive: db.prepare(
        "INSERT INTO drives (project_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (project_id, name) DO NOTHING",
      ),
      file: db.prepare("SELECT blob, size, content_type FROM files WHERE drive_id = ? AND name = ?"),
      upsertFile: db.prepare(
        `INSERT INTO files (drive_id, name, blob, size, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (drive_id, name) DO UPDATE SET blob = excluded.blob, size = excluded.size,
           content_type = excluded.content_type, created_at = excluded.created_at`,
      ),
      deleteFile: db.prepare("DELETE FROM files WHERE drive_id = ? AND name = ?"),
      filesUsage: db.prepare(
        "SELECT coalesce(sum(f.size), 0) AS bytes FROM files f JOIN drives d ON d.id = f.drive_id WHERE d.project_id = ?",
      ),
      uploadsUsage: db.prepare("SELECT coalesce(sum(bytes), 0) AS bytes FROM uploads WHERE project_id = ?"),
      upload: db.prepare("SELECT * FROM uploads WHERE id = ?"),
    };
  }

  /** Makes the folders, and removes what a stopped server left: writes under way, and blobs no row points at. */
  async open(): Promise<void> {
    await rm(join(this.root, "tmp"), { recursive: true, force: true });
    await mkdir(join(this.root, "tmp"), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, "uploads"), { recursive: true, mode: 0o700 });
    const known = new Set(
      (this.db.prepare("SELECT blob FROM files").all() as { blob: string }[]).map((row) => row.blob),
    );
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === "tmp" || entry.name === "uploads") continue;
      for (const blob of await readdir(join(this.root, entry.name))) {
        if (!known.has(`${entry.name}/${blob}`)) await rm(join(this.root, entry.name, blob), { force: true });
      }
    }
    const uploads = new Set((this.db.prepare("SELECT id FROM uploads").all() as { id: string }[]).map((row) => row.id));
    for (const id of await readdir(join(this.root, "uploads"))) {
      if (!uploads.has(id)) await rm(join(this.root, "uploads", id), { recursive: true, force: true });
    }
  }

  private driveId(projectId: string, name: string): number | undefined {
    const cacheKey = `${projectId}\u0000${name}`;
    const cached = this.driveIds.get(cacheKey);
    if (cached !== undefined) return cached;
    const id = this.statements.findDrive.get(projectId, name)?.id;
    if (id !== undefined) this.driveIds.set(cacheKey, id);
    return id;
  }

  private ensureDrive(projectId: string, name: string): number {
    const id = this.driveId(projectId, name);
    if (id !== undefined) return id;
    this.statements.createDrive.run(projectId, name, Date.now());
    return this.driveId(projectId, name) as number;
  }

  private usageNow(projectId: string): number {
    return (
      (this.statements.filesUsage.get(projectId)?.bytes ?? 0) +
      (this.statements.uploadsUsage.get(projectId)?.bytes ?? 0) +
      this.reservations.of(projectId)
    );
  }

  async usage(projectId: string): Promise<number> {
    return this.usageNow(projectId);
  }

  /** Checked and taken in one step, so concurrent writes cannot both squeeze in. */
  private reserve(projectId: string, bytes: number): () => void {
    return this.reservations.reserve(projectId, this.usageNow(projectId), bytes);
  }

  /** Writes `data` (or the files `sources`, one after the other) to a new blob of the project; its id. */
  private async writeBlob(projectId: string, sources: Buffer | string[]): Promise<string> {
    const tmp = join(this.root, "tmp", randomId());
    const handle = await open(tmp, "wx", 0o600);
    try {
      if (Buffer.isBuffer(sources)) await handle.writeFile(sources);
      // Parts are at most 10 MB: one in memory at a time.
      else for (const source of sources) await handle.write(await readFile(source));
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    const blob = `${projectId}/${randomId()}`;
    await mkdir(join(this.root, projectId), { recursive: true, mode: 0o700 });
    await rename(tmp, join(this.root, blob));
    return blob;
  }

  /** Points the name at the new blob in one transaction, then deletes the blob it replaced. */
  private async commit(projectId: string, drive: string, name: string, blob: string, size: number, type: string) {
    let replaced: string | undefined;
    try {
      this.db.transaction(() => {
        const id = this.ensureDrive(projectId, drive);
        replaced = this.statements.file.get(id, name)?.blob;
        this.statements.upsertFile.run(id, name, blob, size, type, Date.now());
      })();
    } catch (err) {
      await rm(join(this.root, blob), { force: true });
      throw err;
    }
    if (replaced) await rm(join(this.root, replaced), { force: true });
  }

  async put(projectId: string, drive: string, name: string, data: Buffer, declaredType?: string): Promise<void> {
    const release = this.reserve(projectId, data.length);
    try {
      const blob = await this.writeBlob(projectId, data);
      await this.commit(projectId, drive, name, blob, data.length, contentTypeFor(name, declaredType));
    } finally {
      release();
    }
  }

  async stat(projectId: string, drive: string, name: string): Promise<FileInfo | undefined> {
    const file = await this.get(projectId, drive, name);
    return file && { size: file.size, contentType: file.contentType };
  }

  /** The file's blob, size and type. */
  async get(projectId: string, drive: string, name: string): Promise<StoredFile | undefined> {
    const id = this.driveId(projectId, drive);
    const row = id === undefined ? undefined : this.statements.file.get(id, name);
    if (!row) return undefined;
    return { path: join(this.root, row.blob), size: row.size, contentType: row.content_type };
  }

  async list(projectId: string, drive: string, options: ListOptions): Promise<ListPage> {
    const id = this.driveId(projectId, drive);
    if (id === undefined) return { names: [] };
    const { prefix, last } = options;
    const where = ["drive_id = ?"];
    const params: (string | number)[] = [id];
    if (prefix) {
      where.push("name >= ?", "name <= ?");
      params.push(prefix, `${prefix}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}`);
    }
    if (last) {
      where.push("name > ?");
      params.push(last);
    }
    const rows = this.db
      .prepare(`SELECT name FROM files WHERE ${where.join(" AND ")} ORDER BY name`)
      .iterate(...params) as IterableIterator<{ name: string }>;
    const page = new ListCollector(options);
    for (const { name } of rows) {
      const full = page.add(name);
      if (full) return full;
    }
    return page.end();
  }

  /** The blobs go after the rows. */
  async delete(projectId: string, drive: string, names: string[]): Promise<void> {
    const id = this.driveId(projectId, drive);
    if (id === undefined) return;
    const blobs: string[] = [];
    this.db.transaction(() => {
      for (const name of names) {
        const row = this.statements.file.get(id, name);
        if (!row) continue;
        this.statements.deleteFile.run(id, name);
        blobs.push(row.blob);
      }
    })();
    for (const blob of blobs) await rm(join(this.root, blob), { force: true });
  }

  async startUpload(projectId: string, drive: string, name: string, declaredType?: string): Promise<string> {
    const id = randomId();
    this.db
      .prepare(
        "INSERT INTO uploads (id, project_id, drive, name, content_type, bytes, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
      )
      .run(id, projectId, drive, name, declaredType ?? null, Date.now());
    return id;
  }

  /** The upload, when it is this project's, for this drive and name; else 404 or 400. */
  private upload(projectId: string, drive: string, uploadId: string, name: string): UploadRow {
    const row = this.statements.upload.get(uploadId);
    if (!row || row.project_id !== projectId || row.drive !== drive) throw new DetaError(404, "Upload not found");
    if (row.name !== name) throw badRequest("The name is not the one the upload was started with");
    return row;
  }

  private uploadDir(uploadId: string): string {
    return join(this.root, "uploads", uploadId);
  }

  async putPart(
    projectId: string,
    drive: string,
    uploadId: string,
    name: string,
    part: number,
    data: Buffer,
    declaredType?: string,
  ): Promise<void> {
    this.upload(projectId, drive, uploadId, name);
    const release = this.reserve(projectId, data.length);
    try {
      const dir = this.uploadDir(uploadId);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = join(this.root, "tmp", randomId());
      const handle = await open(tmp, "wx", 0o600);
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
      const target = join(dir, String(part));
      const previous = await stat(target).then(
        (found) => found.size,
        () => 0,
      );
      await rename(tmp, target);
      const changed = this.db
        .prepare(
          "UPDATE uploads SET bytes = bytes + ?, content_type = coalesce(?, content_type) WHERE id = ? AND project_id = ?",
        )
        .run(data.length - previous, declaredType ?? null, uploadId, projectId).changes;
      // Aborted meanwhile: the part goes too.
      if (changed === 0) await rm(dir, { recursive: true, force: true });
    } finally {
      release();
    }
  }

  async completeUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void> {
    const upload = this.upload(projectId, drive, uploadId, name);
    const dir = this.uploadDir(uploadId);
    const parts = (await readdir(dir).catch(() => [] as string[])).map(Number).sort((a, b) => a - b);
    for (const [index, part] of parts.entries()) {
      if (index === parts.length - 1) break;
      const size = (await stat(join(dir, String(part)))).size;
      if (size < PART_MIN_BYTES) {
        throw badRequest(`Part ${part} is smaller than 5 MB: only the last part may be`);
      }
    }
    const sources = parts.map((part) => join(dir, String(part)));
    const blob = await this.writeBlob(projectId, sources);
    const size = (await stat(join(this.root, blob))).size;
    // The parts become the file: the upload's row goes in the same step as the file's arrives, so the bytes are
    // counted once throughout.
    let replaced: string | undefined;
    try {
      this.db.transaction(() => {
        const deleted = this.db.prepare("DELETE FROM uploads WHERE id = ?").run(uploadId).changes;
        if (deleted === 0) throw new DetaError(404, "Upload not found");
        const id = this.ensureDrive(projectId, drive);
        replaced = this.statements.file.get(id, name)?.blob;
        this.statements.upsertFile.run(id, name, blob, size, contentTypeFor(name, upload.content_type), Date.now());
      })();
    } catch (err) {
      await rm(join(this.root, blob), { force: true });
      throw err;
    }
    if (replaced) await rm(join(this.root, replaced), { force: true });
    await rm(dir, { recursive: true, force: true });
  }

  async abortUpload(projectId: string, drive: string, uploadId: string, name: string): Promise<void> {
    this.upload(projectId, drive, uploadId, name);
    this.db.prepare("DELETE FROM uploads WHERE id = ?").run(uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  async sweep(now = Date.now()): Promise<void> {
    const stale = this.db.prepare("SELECT id FROM uploads WHERE created_at < ?").all(now - UPLOAD_LIFETIME_MS) as {
      id: string;
    }[];
    for (const { id } of stale) {
      this.db.prepare("DELETE FROM uploads WHERE id = ?").run(id);
      await rm(this.uploadDir(id), { recursive: true, force: true });
    }
  }

  async listDrives(projectId: string): Promise<DriveSummary[]> {
    return this.db
      .prepare(
        `SELECT d.name AS name, d.created_at AS createdAt, count(f.name) AS files, coalesce(sum(f.size), 0) AS bytes
         FROM drives d LEFT JOIN files f ON f.drive_id = d.id WHERE d.project_id = ? GROUP BY d.id ORDER BY d.name`,
      )
      .all(projectId) as DriveSummary[];
  }

  /** File records go with their drive (ON DELETE CASCADE); then the project's blobs and its uploads' parts. */
  async removeProject(projectId: string): Promise<void> {
    const uploads = this.db.prepare("SELECT id FROM uploads WHERE project_id = ?").all(projectId) as { id: string }[];
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM drives WHERE project_id = ?").run(projectId);
      this.db.prepare("DELETE FROM uploads WHERE project_id = ?").run(projectId);
    })();
    for (const cacheKey of this.driveIds.keys()) {
      if (cacheKey.startsWith(`${projectId}\u0000`)) this.driveIds.delete(cacheKey);
    }
    await rm(join(this.root, projectId), { recursive: true, force: true });
    for (const { id } of uploads) await rm(this.uploadDir(id), { recursive: true, force: true });
  }
}
