import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { MicrosError } from "../../shared/errors.js";
import type { PgDb, Sql } from "../store/postgres/database.js";
import { BlobCache } from "./blob-cache.js";
import { BLOB_HASH, type BlobReference, type SharedBlobs } from "./shared-blobs.js";

/** Bytes per row of `blob_chunks`: what one statement carries, and about what a put or a fetch holds in memory. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Long enough for whatever put a blob to record a reference to it (a deploy records its release right after),
 * short enough that what is no longer named goes within the hour.
 */
const GRACE_MS = 60 * 60 * 1000;

/** The first key of the advisory locks puts take, one per hash: the bytes of "blob" read as an integer. */
const PUT_LOCK = 0x626c6f62;

/** How many cached hashes one statement asks the database about when the cache is trimmed. */
const TRIM_BATCH = 1000;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface PgBlobsOptions {
  /** This node's copies of the blobs it has used (`<data-dir>/blobs`). */
  cacheDir: string;
  /** Every column that names blobs by hash; each name is written into the sweep's statement, so it is checked. */
  references: readonly BlobReference[];
  /** How long a blob just put is kept while nothing names it; one hour unless a test says otherwise. */
  graceMs?: number;
  /** The clock, in ms since the epoch; injectable so tests need not wait out the grace period. */
  now?: () => number;
}

/**
 * Shared blobs in the PostgreSQL store: a row per blob in `blobs` (hash, size, when it was last put) and its bytes
 * in `blob_chunks`, a row per megabyte, all written in one transaction, so a blob is seen whole or not at all.
 * Files are streamed in and out a chunk at a time, so memory stays bounded whatever their size.
 */
export class PgBlobs implements SharedBlobs {
  private readonly cache: BlobCache;
  private readonly graceMs: number;
  private readonly now: () => number;
  /** Whether a blob is unnamed: one condition per referencing column. */
  private readonly unreferenced: string;
  /** Fetches under way on this node, so concurrent users of one blob fetch it once. */
  private readonly fetching = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly db: PgDb,
    options: PgBlobsOptions,
  ) {
    this.cache = new BlobCache(options.cacheDir);
    this.graceMs = options.graceMs ?? GRACE_MS;
    this.now = options.now ?? Date.now;
    this.unreferenced = options.references
      .map(({ table, column }) => {
        if (!IDENTIFIER.test(table) || !IDENTIFIER.test(column)) {
          throw new MicrosError("ERR_INTERNAL", `${table}.${column} is not a column name blobs can be referenced by.`);
        }
        return `NOT EXISTS (SELECT 1 FROM ${table} WHERE ${table}.${column} = blobs.hash)`;
      })
      .join(" AND ");
  }

  /**
   * Reads the file twice: once for its hash (the blob's name, needed before any chunk is written), then to store
   * it, hashing again so a file changed in between is refused rather than stored under the wrong name. Puts of one
   * hash take turns on an advisory lock, so two nodes putting the same bytes at once both succeed, the second
   * finding the first's blob.
   */
  async put(file: string): Promise<{ hash: string; size: number }> {
    const { hash, size } = await readChunks(file, async () => {});
    await this.db.transaction(async (tx) => {
      await tx.run("SELECT pg_advisory_xact_lock($1, hashtext($2))", [PUT_LOCK, hash]);
      const putAt = this.now();
      if ((await tx.run("UPDATE blobs SET last_put_at = $2 WHERE hash = $1", [hash, putAt])) > 0) return;
      await tx.run("INSERT INTO blobs (hash, size, last_put_at) VALUES ($1, $2, $3)", [hash, size, putAt]);
      const stored = await storeChunks(tx, hash, file);
      if (stored.hash !== hash || stored.size !== size) {
        throw new MicrosError(
          "ERR_INTERNAL",
          `The file ${file} changed while it was being stored; nothing was stored.`,
        );
      }
    });
    return { hash, size };
  }

  async local(hash: string): Promise<string | undefined> {
    if (!BLOB_HASH.test(hash)) {
      throw new MicrosError("ERR_INTERNAL", `${JSON.stringify(hash)} is not a blob's hash (SHA-256 in lowercase hex).`);
    }
    const cached = await this.cache.find(hash);
    if (cached) return cached;
    let fetching = this.fetching.get(hash);
    if (!fetching) {
      fetching = this.fetch(hash).finally(() => this.fetching.delete(hash));
      this.fetching.set(hash, fetching);
    }
    return fetching;
  }

  async sweep(): Promise<number> {
    const deleted = await this.db.rows<{ hash: string }>(
      `DELETE FROM blobs WHERE last_put_at < $1${this.unreferenced ? ` AND ${this.unreferenced}` : ""} RETURNING hash`,
      [this.now() - this.graceMs],
    );
    const cached = await this.cache.hashes();
    for (let i = 0; i < cached.length; i += TRIM_BATCH) {
      const batch = cached.slice(i, i + TRIM_BATCH);
      const kept = new Set(
        (await this.db.rows<{ hash: string }>("SELECT hash FROM blobs WHERE hash = ANY($1::text[])", [batch])).map(
          (row) => row.hash,
        ),
      );
      for (const hash of batch) if (!kept.has(hash) && !this.fetching.has(hash)) await this.cache.remove(hash);
    }
    return deleted.length;
  }

  private async fetch(hash: string): Promise<string | undefined> {
    const blob = await this.db.row<{ size: number }>("SELECT size FROM blobs WHERE hash = $1", [hash]);
    if (!blob) return undefined;
    try {
      return await this.cache.fill(hash, blob.size, this.chunks(hash, blob.size));
    } catch (err) {
      // Swept while it was being read: the database no longer has it.
      if (!(await this.db.row("SELECT 1 FROM blobs WHERE hash = $1", [hash]))) return undefined;
      throw err;
    }
  }

  /** A blob's chunks in order, one statement each; ends early if one is missing (the cache then refuses the bytes). */
  private async *chunks(hash: string, size: number): AsyncIterable<Buffer> {
    for (let seq = 0; seq * CHUNK_BYTES < size; seq++) {
      const chunk = await this.db.row<{ data: Buffer }>("SELECT data FROM blob_chunks WHERE hash = $1 AND seq = $2", [
        hash,
        seq,
      ]);
      if (!chunk) return;
      yield chunk.data;
    }
  }
}

/** Writes the file's chunks as rows of `blob_chunks`, returning the hash and size of what it read. */
function storeChunks(tx: Sql, hash: string, file: string): Promise<{ hash: string; size: number }> {
  let seq = 0;
  return readChunks(file, async (chunk) => {
    await tx.run("INSERT INTO blob_chunks (hash, seq, data) VALUES ($1, $2, $3)", [hash, seq++, chunk]);
  });
}

/**
 * Reads a file in chunks of CHUNK_BYTES (the last one shorter), handing each to `use` before reading the next into
 * the same buffer, and returns the SHA-256 and size of the whole.
 */
async function readChunks(
  file: string,
  use: (chunk: Buffer) => Promise<void>,
): Promise<{ hash: string; size: number }> {
  const digest = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let size = 0;
  const handle = await open(file, "r");
  try {
    for (;;) {
      let filled = 0;
      while (filled < CHUNK_BYTES) {
        const { bytesRead } = await handle.read(buffer, filled, CHUNK_BYTES - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) break;
      const chunk = buffer.subarray(0, filled);
      digest.update(chunk);
      size += filled;
      await use(chunk);
      if (filled < CHUNK_BYTES) break;
    }
  } finally {
    await handle.close();
  }
  return { hash: digest.digest("hex"), size };
}
