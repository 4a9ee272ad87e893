/**
 * Bytes every node of a cluster can read, named by their SHA-256: what one node stores, any other fetches once
 * and keeps on its own disk. Content addressing makes the cache safe to keep for ever (a hash names one content)
 * and storing the same bytes twice free.
 */
export interface SharedBlobs {
  /** Stores the file's bytes under their SHA-256 (lowercase hex), whole or not at all, and returns hash and size. Bytes already stored are not stored again (but count as just put, for sweep's grace period). */
  put(file: string): Promise<{ hash: string; size: number }>;
  /** A path on this node's disk holding exactly the blob's bytes, fetched from the database on first use and cached by hash under the cache folder (written to a temporary name, checked against the hash, then renamed, so a half-fetched blob is never seen); undefined if the database has no such blob. Callers never write to it. */
  local(hash: string): Promise<string | undefined>;
  /** Deletes blobs that no referencing column names any more and that were not put within the grace period; returns how many. Also trims this node's cache of blobs gone from the database. */
  sweep(): Promise<number>;
}

/** A column that names blobs by hash: a blob any such column names is kept. */
export interface BlobReference {
  table: string;
  column: string;
}

/** What a blob's name looks like: SHA-256 in lowercase hex. */
export const BLOB_HASH = /^[0-9a-f]{64}$/;
