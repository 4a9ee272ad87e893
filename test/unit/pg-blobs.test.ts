/**
 * Shared blobs on a real PostgreSQL (from MICROS_TEST_DATABASE_URL, in a database of their own): two "nodes" (two
 * pools, two cache folders) on one database, as two servers of a cluster are.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PgBlobs, type PgBlobsOptions } from "../../src/server/blobs/pg-blobs.js";
import { PgDb } from "../../src/server/store/postgres/database.js";
import { MicrosError } from "../../src/shared/errors.js";
import { useTmpDir } from "../helpers/micros.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../helpers/postgres.js";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const HOUR = 60 * 60 * 1000;

describe("shared blobs in PostgreSQL", {
  skip: TEST_DATABASE_URL
    ? undefined
    : "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases (such as postgres://micros:micros@127.0.0.1:5432/postgres) to run these tests",
}, () => {
  let database: TestDatabase;
  const pools: PgDb[] = [];
  let clock = Date.now();

  /** Another node: a pool of its own and an empty cache folder. */
  async function node(options: Partial<PgBlobsOptions> = {}): Promise<{ blobs: PgBlobs; cacheDir: string }> {
    const db = await PgDb.open(database.url);
    pools.push(db);
    const cacheDir = join(await useTmpDir("micros-blobs-"), "blobs");
    const blobs = new PgBlobs(db, {
      cacheDir,
      references: [{ table: "blob_names", column: "hash" }],
      now: () => clock,
      ...options,
    });
    return { blobs, cacheDir };
  }

  async function file(bytes: Buffer): Promise<string> {
    const path = join(await useTmpDir(), "file");
    await writeFile(path, bytes);
    return path;
  }

  before(async () => {
    database = await createTestDatabase();
    const db = await PgDb.open(database.url);
    pools.push(db);
    // What names blobs in these tests, as `releases.content_hash` does in the server.
    await db.run("CREATE TABLE blob_names (hash TEXT)");
  });
  after(async () => {
    for (const db of pools) await db.close();
    await database?.drop();
  });

  it("gives another node the exact bytes of a file of several chunks, fetched once into its cache", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 12345);
    const writer = await node();
    const put = await writer.blobs.put(await file(bytes));
    assert.deepEqual(put, { hash: sha256(bytes), size: bytes.length });
    const reader = await node();
    const [path, again] = await Promise.all([reader.blobs.local(put.hash), reader.blobs.local(put.hash)]);
    assert.ok(path);
    assert.equal(again, path);
    assert.equal(path, join(reader.cacheDir, put.hash));
    assert.ok((await readFile(path)).equals(bytes));
    assert.deepEqual(await readdir(reader.cacheDir), [put.hash], "no temporary file is left beside it");
    const chunks = await pools[0]?.row<{ count: number }>(
      "SELECT count(*)::integer AS count FROM blob_chunks WHERE hash = $1",
      [put.hash],
    );
    assert.equal(chunks?.count, 4);
  });

  it("stores an empty file, and knows no blob it was never given", async () => {
    const { blobs } = await node();
    const empty = await blobs.put(await file(Buffer.alloc(0)));
    assert.equal(empty.size, 0);
    const path = await (await node()).blobs.local(empty.hash);
    assert.ok(path);
    assert.equal((await readFile(path)).length, 0);
    assert.equal(await blobs.local(sha256(Buffer.from("never stored"))), undefined);
    await assert.rejects(blobs.local("../../etc/passwd"), (err) => err instanceof MicrosError);
  });

  it("lets two nodes put the same bytes at once, and keeps one copy", async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 7);
    const [a, b] = [await node(), await node()];
    const [fromA, fromB] = await Promise.all([a.blobs.put(await file(bytes)), b.blobs.put(await file(bytes))]);
    assert.deepEqual(fromA, fromB);
    const rows = await pools[0]?.row<{ blobs: number; chunks: number }>(
      `SELECT (SELECT count(*)::integer FROM blobs WHERE hash = $1) AS blobs,
                (SELECT count(*)::integer FROM blob_chunks WHERE hash = $1) AS chunks`,
      [fromA.hash],
    );
    assert.deepEqual(rows, { blobs: 1, chunks: 3 });
    const path = await (await node()).blobs.local(fromA.hash);
    assert.ok(path && (await readFile(path)).equals(bytes));
  });

  it("fetches again a cached copy that was damaged on disk", async () => {
    const bytes = randomBytes(1500 * 1024);
    const { blobs } = await node();
    const { hash } = await blobs.put(await file(bytes));
    const path = await blobs.local(hash);
    assert.ok(path);
    await chmod(path, 0o600);
    await writeFile(path, Buffer.concat([bytes.subarray(0, 100), Buffer.from("damaged")]));
    assert.equal(await blobs.local(hash), path);
    assert.ok((await readFile(path)).equals(bytes));
  });

  it("refuses bytes from the database that do not match their hash, and caches nothing", async () => {
    const bytes = randomBytes(1024 * 1024 + 1);
    const { blobs } = await node();
    const { hash } = await blobs.put(await file(bytes));
    await pools[0]?.run("UPDATE blob_chunks SET data = $2 WHERE hash = $1 AND seq = 1", [hash, Buffer.from("X")]);
    const reader = await node();
    await assert.rejects(
      reader.blobs.local(hash),
      (err) => err instanceof MicrosError && err.code === "ERR_INTERNAL" && /does not match its hash/.test(err.message),
    );
    assert.deepEqual(await readdir(reader.cacheDir), []);
  });

  it("sweeps what nothing names once the grace period is over, keeping what is named or recent", async () => {
    const { blobs } = await node();
    const named = await blobs.put(await file(randomBytes(1000)));
    const old = await blobs.put(await file(randomBytes(1000)));
    const putAgain = await blobs.put(await file(randomBytes(1000)));
    await pools[0]?.run("INSERT INTO blob_names (hash) VALUES ($1)", [named.hash]);
    const reader = await node();
    assert.ok(await reader.blobs.local(old.hash));
    clock += 2 * HOUR;
    const recent = await blobs.put(await file(randomBytes(1000)));
    // Putting bytes already stored counts as putting them now.
    const bytes = await readFile((await blobs.local(putAgain.hash)) as string);
    await blobs.put(await file(bytes));
    // Earlier tests' blobs are old and unnamed too: only the count of this test's is known, so look at each.
    assert.ok((await reader.blobs.sweep()) >= 1);
    const fresh = await node();
    assert.equal(await fresh.blobs.local(old.hash), undefined);
    for (const kept of [named, recent, putAgain]) assert.ok(await fresh.blobs.local(kept.hash));
    assert.ok(!(await readdir(reader.cacheDir)).includes(old.hash), "the node's copy of a swept blob is removed");
  });

  it("refuses a referencing column whose name is not a plain identifier", async () => {
    await assert.rejects(
      node({ references: [{ table: "releases; DROP TABLE blobs", column: "content_hash" }] }),
      (err) => err instanceof MicrosError && err.code === "ERR_INTERNAL",
    );
  });
});
