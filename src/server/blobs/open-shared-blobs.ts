import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import type { Store } from "../store/store.js";
import type { BlobReference, SharedBlobs } from "./shared-blobs.js";

/**
 * Every column that names shared blobs. A server has one PgBlobs and it knows them all: a sweep that knew only some
 * would delete the blobs the others name.
 */
export const BLOB_REFERENCES: readonly BlobReference[] = [
  { table: "releases", column: "content_hash" },
  { table: "drive_files", column: "hash" },
];

/**
 * The server's shared blobs, when its store is PostgreSQL (cached on this server's disk in `<data-dir>/blobs`);
 * undefined with SQLite, where nothing is shared. Imported only when chosen, so a SQLite server never loads `pg`.
 */
export async function openSharedBlobs(
  store: Store,
  dataDir: string,
  options: { graceMs?: number } = {},
): Promise<SharedBlobs | undefined> {
  if (store.kind !== "postgres") return undefined;
  const { PostgresStore } = await import("../store/postgres/postgres-store.js");
  const { PgBlobs } = await import("./pg-blobs.js");
  if (!(store instanceof PostgresStore)) {
    throw new MicrosError("ERR_INTERNAL", "A store of kind postgres is not the PostgreSQL store.");
  }
  return new PgBlobs(store.db, { cacheDir: join(dataDir, "blobs"), references: BLOB_REFERENCES, ...options });
}
