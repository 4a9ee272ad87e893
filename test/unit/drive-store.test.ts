import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openDataDatabase } from "../../src/server/data/data-database.js";
import { DetaError } from "../../src/server/data/deta-error.js";
import { DriveStore, PART_MIN_BYTES } from "../../src/server/data/drive/drive-store.js";
import { useTmpDir } from "../helpers/micros.js";

async function openStore(quota = 1024 * 1024 * 1024, dir?: string) {
  const root = dir ?? (await useTmpDir("micros-drive-"));
  const store = new DriveStore(openDataDatabase(join(root, "data.db")), join(root, "drive"), quota);
  await store.open();
  return { store, root };
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

describe("Drive store", () => {
  it("replaces a file whole, deleting the blob it replaced", async () => {
    const { store, root } = await openStore();
    await store.put("p1", "d", "a.txt", Buffer.from("one"));
    await store.put("p1", "d", "a.txt", Buffer.from("two"));
    const file = store.get("p1", "d", "a.txt");
    assert.deepEqual([await readFile(file?.path as string, "utf8"), file?.contentType], ["two", "text/plain"]);
    assert.equal((await readdir(join(root, "drive", "p1"))).length, 1);
  });

  it("lists in name order with paging, and folders once when not recursive, across pages", async () => {
    const { store } = await openStore();
    for (const name of ["a/1", "a/2", "a/x/1", "a/x/2", "a/y/1", "a/z", "b"])
      await store.put("p1", "d", name, Buffer.from(""));
    const list = (options: { prefix?: string; limit?: number; last?: string; recursive?: boolean }) =>
      store.list("p1", "d", { prefix: "", limit: 1000, recursive: true, ...options });
    assert.deepEqual(list({}).names, ["a/1", "a/2", "a/x/1", "a/x/2", "a/y/1", "a/z", "b"]);
    assert.deepEqual(list({ prefix: "a/", recursive: false }), { names: ["a/1", "a/2", "a/x/", "a/y/", "a/z"] });
    const first = list({ prefix: "a/", recursive: false, limit: 3 });
    assert.deepEqual(first, { names: ["a/1", "a/2", "a/x/"], last: "a/x/" });
    assert.deepEqual(list({ prefix: "a/", recursive: false, limit: 3, last: first.last as string }), {
      names: ["a/y/", "a/z"],
    });
    assert.deepEqual(list({ limit: 7 }).last, undefined);
  });

  it("joins parts in order, refuses a short part before the last, and counts parts against the quota", async () => {
    const { store } = await openStore(PART_MIN_BYTES + 1024);
    const id = store.startUpload("p1", "d", "big.bin", undefined);
    await store.putPart("p1", "d", id, "big.bin", 2, Buffer.from("tail"));
    assert.equal(await status(store.completeUpload("p1", "d", id, "big.bin")), 200);
    assert.equal(await readFile(store.get("p1", "d", "big.bin")?.path as string, "utf8"), "tail");

    const second = store.startUpload("p1", "d", "two.bin", "application/x-two");
    await store.putPart("p1", "d", second, "two.bin", 1, Buffer.from("short"));
    await store.putPart("p1", "d", second, "two.bin", 2, Buffer.from("end"));
    assert.equal(await status(store.completeUpload("p1", "d", second, "two.bin")), 400);
    assert.equal(await status(store.putPart("p1", "d", second, "other-name", 3, Buffer.from("x"))), 400);
    assert.equal(await status(store.putPart("p2", "d", second, "two.bin", 3, Buffer.from("x"))), 404);
    await store.putPart("p1", "d", second, "two.bin", 1, Buffer.alloc(PART_MIN_BYTES));
    assert.equal(await status(store.putPart("p1", "d", second, "two.bin", 3, Buffer.alloc(2048))), 507);
    assert.equal(await status(store.completeUpload("p1", "d", second, "two.bin")), 200);
    const file = store.get("p1", "d", "two.bin");
    assert.deepEqual([file?.size, file?.contentType], [PART_MIN_BYTES + 3, "application/x-two"]);
    assert.equal(store.usage("p1"), PART_MIN_BYTES + 3 + 4);
    assert.equal(await status(store.put("p1", "d", "more", Buffer.alloc(1024))), 507);
    assert.equal(await status(store.put("p2", "d", "more", Buffer.alloc(1024))), 200, "quotas are per project");
  });

  it("removes at start what a stopped server left: blobs no file points at, parts of forgotten uploads", async () => {
    const { store, root } = await openStore();
    await store.put("p1", "d", "kept", Buffer.from("x"));
    await writeFile(join(root, "drive", "p1", "orphan"), "y");
    const id = store.startUpload("p1", "d", "up", undefined);
    await store.putPart("p1", "d", id, "up", 1, Buffer.from("part"));
    await store.abortUpload("p1", "d", id, "up");
    await openStore(undefined, root);
    const kept = store.get("p1", "d", "kept")?.path ?? "";
    assert.deepEqual(await readdir(join(root, "drive", "p1")), [kept.split("/").pop()]);
    assert.deepEqual(await readdir(join(root, "drive", "uploads")), []);
  });
});
