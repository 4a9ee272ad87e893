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
  return (await useStoreOf(TEST_DATABASE_URL ? "postgres" : "sqlite")).store;
}

export type StoreKind = Store["kind"];

/**
 * Both stores, for the suites that run on each: PostgreSQL is skipped, saying why, unless MICROS_TEST_DATABASE_URL
 * names a server.
 */
export const STORE_KINDS: readonly { kind: StoreKind; name: string; skip?: string }[] = [
  { kind: "sqlite", name: "SQLite" },
  {
    kind: "postgres",
    name: "PostgreSQL",
    ...(!TEST_DATABASE_URL && {
      skip: "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases (such as postgres://micros:micros@127.0.0.1:5432/postgres) to run these tests on PostgreSQL too",
    }),
  },
];

/**
 * A store of that kind, closed once the file's tests are done: SQLite in a folder of its own; PostgreSQL in a new
 * database (dropped afterwards), or on `url`, another store's database, as a second server on it.
 */
export async function useStoreOf(kind: StoreKind, url?: string): Promise<{ store: Store; url?: string }> {
  if (kind === "sqlite") {
    const store = SqliteStore.open(join(await useTmpDir("micros-store-"), "micros.db"));
    onCleanup(() => store.close());
    return { store };
  }
  let databaseUrl = url;
  if (databaseUrl === undefined) {
    const database = await createTestDatabase();
    onCleanup(() => database.drop());
    databaseUrl = database.url;
  }
  const store = await PostgresStore.open(databaseUrl);
  onCleanup(() => store.close());
  return { store, url: databaseUrl };
}

/**
 * The micro `store` looks up, once two lookups in a row give the very same object (the second from its cache).
 * PostgreSQL hears of a write a moment after it and reads once more, so tests poll this with waitFor.
 */
export async function cachedLookup(store: Store, subdomain: string): Promise<Readonly<Micro> | undefined> {
  const first = await store.micros.bySubdomain(subdomain);
  return first && first === (await store.micros.bySubdomain(subdomain)) ? first : undefined;
}
