/**
 * Deta Drive's semantics, on each store: SQLite (data.db, bytes under <data-dir>/drive) and PostgreSQL (from
 * MICROS_TEST_DATABASE_URL, in a database of its own; bytes as shared blobs). The routes rely on these answers
 * whichever store is chosen.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openDataDatabase } from "../../src/server/data/data-database.js";
import { DetaError } from "../../src/server/data/deta-error.js";
import { DriveStore } from "../../src/server/data/drive/drive-store.js";
import { type Drives, PART_MIN_BYTES } from "../../src/server/data/drive/drives.js";
import { useDataStores } from "../helpers/data-service.js";
import { useTmpDir } from "../helpers/micros.js";
import { STORE_KINDS, type StoreKind } from "../helpers/store.js";

async function openDrives(kind: StoreKind, quota = 1024 * 1024 * 1024): Promise<{ store: Drives; dataDir: string }> {
  const { service, dataDir } = await useDataStores(kind, { driveQuotaBytes: quota });
  return { store: service.drives, dataDir };
}

async function status(work: Promise<unknown>): Promise<number> {
  try {
    await work;
  } catch (err) {
    if (err instanceof DetaError) return err.status;
    throw err;
  }
  return 200;
}

async function content(store: Drives, name: string, project = "p1"): Promise<string | undefined> {
  const file = await store.get(project, "d", name);
  return file && readFile(file.path, "utf8");
}

for (const { kind, name: storeName, skip } of STORE_KINDS) {
  describe(`Drive store on ${storeName}`, { skip }, () => {
    it("replaces a file whole, with its type, and serves the new bytes", async () => {
      const { store } = await openDrives(kind);
      await store.put("p1", "d", "a.txt", Buffer.from("one"));
      await store.put("p1", "d", "a.txt", Buffer.from("two"), "text/x-two");
      assert.equal(await content(store, "a.txt"), "two");
      assert.deepEqual(await store.stat("p1", "d", "a.txt"), { size: 3, contentType: "text/x-two" });
      await store.put("p1", "d", "empty.bin", Buffer.alloc(0));
      assert.deepEqual(await store.stat("p1", "d", "empty.bin"), { size: 0, contentType: "application/octet-stream" });
      assert.equal(await content(store, "empty.bin"), "");
      assert.equal(await store.get("p1", "d", "nothing"), undefined);
      assert.equal(await store.stat("p1", "other", "a.txt"), undefined);
    });

    it("lists in name order with paging, and folders once when not recursive, across pages", async () => {
      const { store } = await openDrives(kind);
      for (const name of ["a/1", "a/2", "a/x/1", "a/x/2", "a/y/1", "a/z", "b", "é", "\uE000", "😀"])
        await store.put("p1", "d", name, Buffer.from(""));
      const list = (options: { prefix?: string; limit?: number; last?: string; recursive?: boolean }) =>
        store.list("p1", "d", { prefix: "", limit: 1000, recursive: true, ...options });
      assert.deepEqual((await list({})).names, [
        "a/1",
        "a/2",
        "a/x/1",
        "a/x/2",
        "a/y/1",
        "a/z",
        "b",
        "é",
        "\uE000",
        "😀",
      ]);
      assert.deepEqual(await list({ prefix: "a/", recursive: false }), {
        names: ["a/1", "a/2", "a/x/", "a/y/", "a/z"],
      });
      const first = await list({ prefix: "a/", recursive: false, limit: 3 });
      assert.deepEqual(first, { names: ["a/1", "a/2", "a/x/"], last: "a/x/" });
      assert.deepEqual(await list({ prefix: "a/", recursive: false, limit: 3, last: first.last as string }), {
        names: ["a/y/", "a/z"],
      });
      assert.deepEqual((await list({ limit: 10 })).last, undefined);
      assert.deepEqual(await list({ limit: 2, last: "b" }), { names: ["é", "\uE000"], last: "\uE000" });
      assert.deepEqual(await store.list("p1", "never", { prefix: "", limit: 10, recursive: true }), { names: [] });
    });

    it("lists past a folder of more files than one read takes, when not recursive", async () => {
      const { store } = await openDrives(kind);
      await Promise.all(
        Array.from({ length: 1100 }, (_, i) =>
          store.put("p1", "d", `big/${String(i).padStart(4, "0")}`, Buffer.from(String(i))),
        ),
      );
      await store.put("p1", "d", "c", Buffer.from(""));
      await store.put("p1", "d", "a", Buffer.from(""));
      const options = { prefix: "", limit: 2, recursive: false };
      assert.deepEqual(await store.list("p1", "d", options), { names: ["a", "big/"], last: "big/" });
      assert.deepEqual(await store.list("p1", "d", { ...options, last: "big/" }), { names: ["c"] });
    });

    it("deletes many at once, missing names counting as deleted", async () => {
      const { store } = await openDrives(kind);
      for (const name of ["x", "y", "z"]) await store.put("p1", "d", name, Buffer.from(name));
      await store.delete("p1", "d", ["x", "z", "missing"]);
      assert.deepEqual((await store.list("p1", "d", { prefix: "", limit: 10, recursive: true })).names, ["y"]);
      assert.equal(await content(store, "y"), "y");
      await store.delete("p1", "never", ["y"]);
    });

    it("finds nothing by a name, prefix, cursor or upload id with a NUL, which no file or upload has", async () => {
      const { store } = await openDrives(kind);
      for (const name of ["a", "ab", "b"]) await store.put("p1", "d", name, Buffer.from(name));
      const list = (options: { prefix?: string; last?: string }) =>
        store.list("p1", "d", { prefix: "", limit: 10, recursive: true, ...options });
      assert.deepEqual(await list({ prefix: "a\u0000" }), { names: [] });
      assert.deepEqual(await list({ last: "a\u0000z" }), { names: ["ab", "b"] });
      assert.deepEqual(await list({ last: "\u0000" }), { names: ["a", "ab", "b"] });
      await store.delete("p1", "d", ["a\u0000", "b"]);
      assert.deepEqual((await list({})).names, ["a", "ab"]);
      assert.equal(await store.stat("p1", "d", "a\u0000"), undefined);
      assert.equal(await status(store.putPart("p1", "d", "id\u0000", "a", 1, Buffer.from("x"))), 404);
      assert.equal(await status(store.abortUpload("p1", "d", "id\u0000", "a")), 404);
    });

    it("joins parts in order, refuses a short part before the last, and counts parts against the quota", async () => {
      const { store } = await openDrives(kind, PART_MIN_BYTES + 1024);
      const id = await store.startUpload("p1", "d", "big.bin", undefined);
      await store.putPart("p1", "d", id, "big.bin", 2, Buffer.from("tail"));
      assert.equal(await status(store.completeUpload("p1", "d", id, "big.bin")), 200);
      assert.equal(await content(store, "big.bin"), "tail");
      assert.equal(await status(store.completeUpload("p1", "d", id, "big.bin")), 404, "an upload completes once");

      const second = await store.startUpload("p1", "d", "two.bin", "application/x-two");
      await store.putPart("p1", "d", second, "two.bin", 1, Buffer.from("short"));
      await store.putPart("p1", "d", second, "two.bin", 2, Buffer.from("end"));
      assert.equal(await status(store.completeUpload("p1", "d", second, "two.bin")), 400);
      assert.equal(await status(store.putPart("p1", "d", second, "other-name", 3, Buffer.from("x"))), 400);
      assert.equal(await status(store.putPart("p2", "d", second, "two.bin", 3, Buffer.from("x"))), 404);
      assert.equal(await status(store.putPart("p1", "other", second, "two.bin", 3, Buffer.from("x"))), 404);
      await store.putPart("p1", "d", second, "two.bin", 1, Buffer.alloc(PART_MIN_BYTES, 7));
      assert.equal(await status(store.putPart("p1", "d", second, "two.bin", 3, Buffer.alloc(2048))), 507);
      assert.equal(await status(store.completeUpload("p1", "d", second, "two.bin")), 200);
      const file = await store.get("p1", "d", "two.bin");
      assert.deepEqual([file?.size, file?.contentType], [PART_MIN_BYTES + 3, "application/x-two"]);
      const bytes = await readFile(file?.path as string);
      assert.deepEqual([bytes[0], bytes[PART_MIN_BYTES - 1], bytes.subarray(PART_MIN_BYTES).toString()], [7, 7, "end"]);
      assert.equal(await store.usage("p1"), PART_MIN_BYTES + 3 + 4);
      assert.equal(await status(store.put("p1", "d", "more", Buffer.alloc(1024))), 507);
      assert.equal(await status(store.put("p2", "d", "more", Buffer.alloc(1024))), 200, "quotas are per project");
    });

    it("refuses at once, with 507 and how full it is, writes under way that together pass the quota", async () => {
      const { store } = await openDrives(kind, 1024);
      const answers = await Promise.all(
        Array.from({ length: 4 }, (_, i) => status(store.put("p1", "d", `f${i}`, Buffer.alloc(400)))),
      );
      assert.deepEqual([...answers].sort(), [200, 200, 507, 507], "two of 400 bytes fit in 1 KB, a third does not");
      await assert.rejects(
        store.put("p1", "d", "more", Buffer.alloc(400)),
        /Drive storage is full: 800 bytes of 1 KB used/,
      );
    });

    it("drops an aborted upload's parts, and uploads abandoned for a day", async () => {
      const { store } = await openDrives(kind);
      const aborted = await store.startUpload("p1", "d", "a.bin", undefined);
      await store.putPart("p1", "d", aborted, "a.bin", 1, Buffer.alloc(100));
      assert.equal(await store.usage("p1"), 100);
      assert.equal(await status(store.abortUpload("p1", "d", aborted, "wrong")), 400);
      await store.abortUpload("p1", "d", aborted, "a.bin");
      assert.equal(await store.usage("p1"), 0);
      assert.equal(await status(store.putPart("p1", "d", aborted, "a.bin", 2, Buffer.alloc(1))), 404);
      const abandoned = await store.startUpload("p1", "d", "b.bin", undefined);
      await store.putPart("p1", "d", abandoned, "b.bin", 1, Buffer.alloc(50));
      await store.sweep();
      assert.equal(await store.usage("p1"), 50, "a fresh upload stays");
      await store.sweep(Date.now() + 25 * 60 * 60 * 1000);
      assert.equal(await store.usage("p1"), 0);
      assert.equal(await status(store.completeUpload("p1", "d", abandoned, "b.bin")), 404);
    });

    it("lists a project's drives with their files and bytes, and removes them with the project", async () => {
      const { store } = await openDrives(kind);
      await store.put("p1", "d", "a", Buffer.alloc(3));
      await store.put("p1", "d", "b", Buffer.alloc(4));
      await store.put("p1", "D", "a", Buffer.alloc(5));
      await store.put("p2", "d", "a", Buffer.alloc(6));
      const upload = await store.startUpload("p1", "d", "up", undefined);
      await store.putPart("p1", "d", upload, "up", 1, Buffer.alloc(7));
      const listed = (await store.listDrives("p1")).map(({ name, files, bytes }) => [name, files, bytes]);
      assert.deepEqual(listed, [
        ["D", 1, 5],
        ["d", 2, 7],
      ]);
      await store.removeProject("p1");
      assert.deepEqual(await store.listDrives("p1"), []);
      assert.equal(await store.usage("p1"), 0);
      assert.equal(await store.stat("p1", "d", "a"), undefined);
      assert.equal(await content(store, "a", "p2"), "\0".repeat(6));
      await store.put("p1", "d", "again", Buffer.from("x"));
      assert.equal(await content(store, "again"), "x");
    });
  });
}

describe("Drive store on SQLite's data directory", () => {
  it("deletes the blob a file replaced", async () => {
    const { store, dataDir } = await openDrives("sqlite");
    await store.put("p1", "d", "a.txt", Buffer.from("one"));
    await store.put("p1", "d", "a.txt", Buffer.from("two"));
    assert.equal((await readdir(join(dataDir, "drive", "p1"))).length, 1);
  });

  it("removes at start what a stopped server left: blobs no file points at, parts of forgotten uploads", async () => {
    const root = await useTmpDir("micros-drive-");
    const open = async () => {
      const drives = new DriveStore(openDataDatabase(join(root, "data.db")), join(root, "drive"), 1024 * 1024);
      await drives.open();
      return drives;
    };
    const store = await open();
    await store.put("p1", "d", "kept", Buffer.from("x"));
    await writeFile(join(root, "drive", "p1", "orphan"), "y");
    const id = await store.startUpload("p1", "d", "up", undefined);
    await store.putPart("p1", "d", id, "up", 1, Buffer.from("part"));
    await store.abortUpload("p1", "d", id, "up");
    await open();
    const kept = (await store.get("p1", "d", "kept"))?.path ?? "";
    assert.deepEqual(await readdir(join(root, "drive", "p1")), [kept.split("/").pop()]);
    assert.deepEqual(await readdir(join(root, "drive", "uploads")), []);
  });
});
