import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { PostgresStore } from "../store/postgres/postgres-store.js";
import { PgBaseStore } from "./base/pg-base-store.js";
import type { DataServiceOptions, DataStores } from "./data-service.js";
import { PgDriveStore } from "./drive/pg-drive-store.js";

/**
 * Base and Drive in the PostgreSQL store's database (tables from its migrations), file bytes as shared blobs. Keys
 * and names order by their bytes only in a UTF8 database, so another encoding is refused here, at the start.
 */
export async function openPgDataStores(options: DataServiceOptions): Promise<DataStores> {
  const { store, blobs } = options;
  if (!(store instanceof PostgresStore) || !blobs) {
    throw new MicrosError(
      "ERR_INTERNAL",
      "Base and Drive on PostgreSQL need the PostgreSQL store and its shared blobs.",
    );
  }
  const encoding = (await store.db.row<{ server_encoding: string }>("SHOW server_encoding"))?.server_encoding;
  if (encoding !== "UTF8") {
    throw new MicrosError(
      "ERR_DATABASE_UNUSABLE",
      `Base and Drive need a PostgreSQL database in UTF8, and this one is in ${encoding}: create one with ENCODING 'UTF8' and use that.`,
    );
  }
  const drives = new PgDriveStore(store.db, blobs, join(options.dataDir, "drive", "tmp"), options.driveQuotaBytes);
  await drives.open();
  // The pool is the store's, closed with it.
  return { bases: new PgBaseStore(store.db, options.clock), drives, close: () => {} };
}
