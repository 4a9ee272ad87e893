import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../shared/errors.js";
import type { Store } from "./store/store.js";

export const ADMIN_TOKEN_FILE = "admin-token";

/**
 * On first start, creates the admin user and writes its token to
 * `<data-dir>/admin-token` (mode 0600). Later starts leave it as it is. With PostgreSQL, the database may be older
 * than the data dir: then the file is in the data dir of the server that created the admin.
 */
export async function ensureAdmin(store: Store, dataDir: string): Promise<{ file: string; created: boolean }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  if (await store.users.byName("admin")) return { file, created: false };
  const admin = await store.users.create("admin", true).catch((err: unknown) => {
    // Another server on the same database created it first, between the look and the insert.
    if (err instanceof MicrosError && err.code === "ERR_NAME_TAKEN") return undefined;
    throw err;
  });
  if (!admin) return { file, created: false };
  const token = await store.users.issueToken(admin.id, "admin-token");
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { file, created: true };
}

export async function readAdminToken(dataDir: string): Promise<string | undefined> {
  return readFile(join(dataDir, ADMIN_TOKEN_FILE), "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
}
