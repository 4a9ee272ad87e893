import { join } from "node:path";
import type { Micro } from "../../src/server/store/micros.js";
import { PostgresStore } from "../../src/server/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/server/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/server/store/store.js";
import { onCleanup, useTmpDir } from "./micros.js";
import { createTestDatabase, TEST_DATABASE_URL } from "./postgres.js";

/**
 * A fresh store for the tests of one file, closed once they are done: SQLite in a folder of its own, or, when
 * MICROS_TEST_DATABASE_URL is set, PostgreSQL in a database of its own, dropped afterwards. The unit tests that use
 * a store run on either, as the server does.
 */
export async function useStore(): Promise<Store> {
  if (!TEST_DATABASE_URL) {
    const store = SqliteStore.open(join(await useTmpDir("micros-store-"), "micros.db"));
    onCleanup(() => store.close());
    return store;
  }
  const database = await createTestDatabase();
  onCleanup(() => database.drop());
  const store = await PostgresStore.open(database.url);
  onCleanup(() => store.close());
  return store;
}

/**
 * The micro `store` looks up, once two lookups in a row give the very same object (the second from its cache).
 * PostgreSQL hears of a write a moment after it and reads once more, so tests poll this with waitFor.
 */
export async function cachedLookup(store: Store, subdomain: string): Promise<Readonly<Micro> | undefined> {
  const first = await store.micros.bySubdomain(subdomain);
  return first && first === (await store.micros.bySubdomain(subdomain)) ? first : undefined;
}
