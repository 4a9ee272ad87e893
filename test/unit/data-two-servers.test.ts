/**
 * Two servers on one PostgreSQL database, as the nodes of a cluster are: two DataServices, each with a data
 * directory and a pool of its own, answering Base and Drive over HTTP. What one writes the other reads, writes
 * from both at once lose nothing, and neither reads the other's disk. Runs when MICROS_TEST_DATABASE_URL names a
 * server (skipped, saying why, otherwise).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { before, describe, it } from "node:test";
import { PART_MIN_BYTES } from "../../src/server/data/drive/drives.js";
import { type DataStoresUnderTest, useDataStores } from "../helpers/data-service.js";
import { onCleanup } from "../helpers/micros.js";
import { STORE_KINDS } from "../helpers/store.js";

const PROJECT = "p0000000001";
const KEY = `${PROJECT}_key`;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

interface Node extends DataStoresUnderTest {
  /** A request to this server's Base and Drive for the project. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Failures the service logged as not the client's. */
  failures: unknown[];
}

/** A server on the database at `url` (a new one when undefined): its own data directory, pool and HTTP port. */
async function node(url: string | undefined, driveQuotaBytes = 1024 * 1024 * 1024): Promise<Node> {
  const failures: unknown[] = [];
  const stores = await useDataStores("postgres", {
    ...(url !== undefined && { url }),
    driveQuotaBytes,
    // Keys are sealed with each server's own secret today: this test is about the data, so both take one key.
    projectOf: async (key) => (key === KEY ? PROJECT : undefined),
    operator: { error: (err: unknown) => failures.push(err) },
  });
  const server = createServer((req, res) => stores.service.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    ...stores,
    failures,
    call: (method, path, body, headers = {}) =>
      fetch(`http://127.0.0.1:${port}/v1/${PROJECT}${path}`, {
        method,
        headers: { "x-api-key": KEY, ...headers },
        ...(body !== undefined && {
          body: Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
        }),
      }),
  };
}

describe("Base and Drive of two servers on one PostgreSQL database", { skip: STORE_KINDS[1]?.skip }, () => {
  let one: Node;
  let two: Node;
  before(async () => {
    one = await node(undefined);
    two = await node(one.url);
  });

  it("read through one server the items written through the other, in one key order", async () => {
    const put = await one.call("PUT", "/people/items", {
      items: [
        { key: "b", name: "Bo" },
        { key: "a", name: "Ada", age: 36 },
      ],
    });
    assert.equal(put.status, 207);
    assert.deepEqual(await (await two.call("GET", "/people/items/a")).json(), { key: "a", name: "Ada", age: 36 });
    const query = await two.call("POST", "/people/query", { query: [{ "name?pfx": "" }] });
    assert.deepEqual(await query.json(), {
      paging: { size: 2 },
      items: [
        { key: "a", name: "Ada", age: 36 },
        { key: "b", name: "Bo" },
      ],
    });
    assert.equal((await two.call("POST", "/people/items", { item: { key: "a" } })).status, 409);
    assert.equal((await two.call("DELETE", "/people/items/b")).status, 200);
    assert.equal((await one.call("GET", "/people/items/b")).status, 404);
    assert.deepEqual(
      (await one.service.bases.list(PROJECT)).map((base) => [base.name, base.items]),
      [["people", 1]],
    );
  });

  it("end 30 increments of one item, sent at once through both servers, at exactly 30", async () => {
    await one.call("PUT", "/counters/items", { items: [{ key: "hits", n: 0 }] });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? one : two).call("PATCH", "/counters/items/hits", { increment: { n: 1 } }),
      ),
    );
    assert.deepEqual(
      answers.map((answer) => answer.status),
      Array(30).fill(200),
    );
    assert.deepEqual(await (await one.call("GET", "/counters/items/hits")).json(), { key: "hits", n: 30 });
  });

  it("store a file through one and a chunked upload through both, and serve both through the second alone", async () => {
    const small = randomBytes(3000);
    assert.equal((await one.call("POST", "/photos/files?name=small.bin", small)).status, 201);
    const parts = [randomBytes(PART_MIN_BYTES), randomBytes(PART_MIN_BYTES), randomBytes(1234)];
    const started = await one.call("POST", "/photos/uploads?name=big.bin", undefined, {
      "content-type": "application/x-big",
    });
    const { upload_id: id } = (await started.json()) as { upload_id: string };
    for (const [index, part] of parts.entries()) {
      const via = index === 1 ? two : one;
      const answer = await via.call("POST", `/photos/uploads/${id}/parts?name=big.bin&part=${index + 1}`, part);
      assert.equal(answer.status, 200);
    }
    assert.equal((await two.call("PATCH", `/photos/uploads/${id}?name=big.bin`)).status, 200);
    // Nothing the first server keeps on its disk is needed from here on.
    await rm(one.dataDir, { recursive: true, force: true });

    const big = await two.call("GET", "/photos/files/download?name=big.bin");
    assert.equal(big.headers.get("content-type"), "application/x-big");
    assert.equal(sha256(Buffer.from(await big.arrayBuffer())), sha256(Buffer.concat(parts)));
    const range = await two.call("GET", "/photos/files/download?name=small.bin", undefined, {
      range: "bytes=1000-1999",
    });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), small.subarray(1000, 2000));
    assert.deepEqual(await (await two.call("GET", "/photos/files")).json(), { names: ["big.bin", "small.bin"] });
    const [drive] = await two.service.drives.listDrives(PROJECT);
    assert.deepEqual([drive?.files, drive?.bytes], [2, small.length + 2 * PART_MIN_BYTES + 1234]);

    const deleted = await two.call("DELETE", "/photos/files", { names: ["big.bin", "small.bin"] });
    assert.equal(deleted.status, 200);
    assert.equal((await one.call("GET", "/photos/files/download?name=small.bin")).status, 404);
  });

  it("hold the project's quota between them: writes at once through both never pass it together", async () => {
    const url = one.url;
    const a = await node(url, 1024 * 1024);
    const b = await node(url, 1024 * 1024);
    const file = randomBytes(300 * 1024);
    // Each server alone would take three (900 KB of 1 MB); between them, three in all fit.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? a : b).call("POST", `/quota/files?name=f${i}`, file)),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 507, 507, 507]);
    assert.ok((await a.service.drives.usage(PROJECT)) <= 1024 * 1024);
    await a.service.drives.delete(PROJECT, "quota", ["f0", "f1", "f2", "f3", "f4", "f5"]);
  });

  it("sweep expired items from both servers at once, each item once, with no failure", async () => {
    const past = Date.now() / 1000 - 1;
    const expired = Array.from({ length: 20 }, (_, i) => ({ key: `old${i}`, __expires: past }));
    assert.equal((await one.call("PUT", "/ttl/items", { items: [...expired, { key: "kept" }] })).status, 207);
    await Promise.all([one.service.sweep(), two.service.sweep(), one.service.sweep()]);
    assert.deepEqual([one.failures, two.failures], [[], []]);
    const left = await two.call("POST", "/ttl/query", {});
    assert.deepEqual(await left.json(), { paging: { size: 1 }, items: [{ key: "kept" }] });
    assert.equal(await one.service.bases.sweep(), 0);
  });

  it("remove a deleted project's data for both servers", async () => {
    await one.call("PUT", "/gone/items", { items: [{ key: "x" }] });
    await one.call("POST", "/gone/files?name=x", Buffer.from("x"));
    await one.call("POST", "/gone/uploads?name=y");
    await two.service.removeProject(PROJECT);
    assert.equal((await one.call("GET", "/gone/items/x")).status, 404);
    assert.equal((await one.call("GET", "/gone/files/download?name=x")).status, 404);
    assert.deepEqual(await one.service.bases.list(PROJECT), []);
    assert.deepEqual(await one.service.drives.listDrives(PROJECT), []);
    assert.equal(await one.service.drives.usage(PROJECT), 0);
  });
});
