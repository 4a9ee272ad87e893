import { join } from "node:path";
import type { PostgresStore } from "../store/postgres/postgres-store.js";
import type { Store } from "../store/store.js";
import { PgBlobs } from "./pg-blobs.js";
import type { BlobReference, SharedBlobs } from "./shared-blobs.js";

/** Every column of the platform's schema that names blobs by hash: a blob one of them names is never swept. */
export const BLOB_REFERENCES: readonly BlobReference[] = [{ table: "releases", column: "content_hash" }];

/**
 * The store's shared blobs, each node's copies in `<data-dir>/blobs`: PostgreSQL's; none with SQLite, whose one
 * node has every file on its own disk.
 */
export function sharedBlobsOf(store: Store, dataDir: string): SharedBlobs | undefined {
  if (store.kind !== "postgres") return undefined;
  return new PgBlobs((store as PostgresStore).db, { cacheDir: join(dataDir, "blobs"), references: BLOB_REFERENCES });
}
