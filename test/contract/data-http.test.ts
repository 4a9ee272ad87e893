/**
 * The Base and Drive HTTP APIs as Deta documented them (docs/base/HTTP.md, docs/drive/HTTP.md), request by request:
 * the answers the SDKs do not show (statuses, shapes), and every bad input refused with Deta's `{"errors": [...]}`
 * and nothing stored. On each store: SQLite, and PostgreSQL when MICROS_TEST_DATABASE_URL names a server.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { call, type DataServiceUnderTest, useDataService } from "../helpers/data-service.js";
import { STORE_KINDS } from "../helpers/store.js";

for (const { kind, name, skip } of STORE_KINDS) {
  describe(`Base over HTTP on ${name}`, { skip }, () => {
    let service: DataServiceUnderTest;
    let items: string;
    const base = (path: string) => `/v1/${service.projectId}/shop${path}`;
    before(async () => {
      service = await useDataService(kind);
      items = base("/items");
    });

    it("puts items with 207 and processed, gets them, and answers a missing one 404 with its key", async () => {
      const put = await call(service, "PUT", items, {
        key: service.key,
        body: { items: [{ key: "a", n: 1 }, { n: 2 }] },
      });
      assert.equal(put.status, 207);
      const answer = put.json as { processed: { items: { key: string }[] }; failed: { items: unknown[] } };
      assert.deepEqual(answer.failed, { items: [] });
      const processed = answer.processed.items;
      assert.deepEqual(processed[0], { key: "a", n: 1 });
      assert.match(processed[1]?.key as string, /^[a-z0-9]{12}$/);
      assert.equal((await call(service, "GET", base("/items/a"), { key: service.key })).body, '{"key":"a","n":1}');
      const missing = await call(service, "GET", base("/items/nope%2Fx"), { key: service.key });
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.json, { key: "nope/x" });
      const deleted = await call(service, "DELETE", base("/items/never"), { key: service.key });
      assert.deepEqual([deleted.status, deleted.json], [200, { key: "never" }]);
    });

    it("takes the project key in any header case, and the legacy path without /v1", async () => {
      const legacy = await call(service, "GET", `/${service.projectId}/shop/items/a`, {
        headers: { "X-Api-Key": service.key },
      });
      assert.deepEqual([legacy.status, legacy.json], [200, { key: "a", n: 1 }]);
    });

    it("inserts with 201, and answers an existing key 409 Key already exists", async () => {
      const created = await call(service, "POST", items, { key: service.key, body: { item: { key: "i", n: 1 } } });
      assert.deepEqual([created.status, created.json], [201, { key: "i", n: 1 }]);
      const again = await call(service, "POST", items, { key: service.key, body: { item: { key: "i", n: 2 } } });
      assert.deepEqual([again.status, again.json], [409, { errors: ["Key already exists"] }]);
    });

    it("echoes an update, and answers a missing key 404 Key not found", async () => {
      const body = { set: { "p.q": 1 }, increment: {}, append: {}, prepend: {}, delete: [] };
      await call(service, "PUT", items, { key: service.key, body: { items: [{ key: "u", p: {} }] } });
      const updated = await call(service, "PATCH", base("/items/u"), { key: service.key, body });
      assert.deepEqual([updated.status, updated.json], [200, { key: "u", ...body }]);
      const missing = await call(service, "PATCH", base("/items/none"), { key: service.key, body });
      assert.deepEqual([missing.status, missing.json], [404, { errors: ["Key not found"] }]);
    });

    it("answers a query with paging, last only while more match, and desc order", async () => {
      // A base of its own: items other tests put there have generated keys, which may sort before "a".
      const paging = `/v1/${service.projectId}/paging`;
      await call(service, "PUT", `${paging}/items`, {
        key: service.key,
        body: {
          items: [
            { key: "a", n: 1 },
            { key: "b", n: 2 },
            { key: "c", n: 0 },
          ],
        },
      });
      const body = { query: [{ "n?gte": 1 }], limit: 1 };
      const first = await call(service, "POST", `${paging}/query`, { key: service.key, body });
      assert.deepEqual(first.json, { paging: { size: 1, last: "a" }, items: [{ key: "a", n: 1 }] });
      const desc = await call(service, "POST", `${paging}/query`, {
        key: service.key,
        body: { query: [{ "n?gte": 1 }], sort: "desc" },
      });
      const keys = (desc.json as { items: { key: string }[] }).items.map((item) => item.key);
      assert.deepEqual(keys, ["b", "a"]);
      const none = await call(service, "POST", `/v1/${service.projectId}/never-written/query`, {
        key: service.key,
        body: {},
      });
      assert.deepEqual(none.json, { paging: { size: 0 }, items: [] });
    });

    /** Each refused with Deta's status and shape, and nothing of it stored. */
    const refusals: [string, () => Promise<void>][] = [
      [
        "26 items",
        async () => {
          const batch = Array.from({ length: 26 }, (_, i) => ({ key: `many-${i}` }));
          const answer = await call(service, "PUT", items, { key: service.key, body: { items: batch } });
          assert.deepEqual(
            [answer.status, answer.json],
            [400, { errors: ["We can't put more than 25 items at a time"] }],
          );
          assert.equal(await service.service.bases.get(service.projectId, "shop", "many-0"), undefined);
        },
      ],
      [
        "an item of 401 KB next to a small one",
        async () => {
          const big = { key: "big", text: "x".repeat(401 * 1024) };
          const answer = await call(service, "PUT", items, {
            key: service.key,
            body: { items: [{ key: "small" }, big] },
          });
          assert.equal(answer.status, 400);
          assert.deepEqual(answer.json, { errors: ["Item with key big is larger than 400 KB"] });
          assert.equal(await service.service.bases.get(service.projectId, "shop", "small"), undefined);
          const insert = await call(service, "POST", items, { key: service.key, body: { item: big } });
          assert.equal(insert.status, 400);
        },
      ],
      [
        "a request over 16 MB",
        async () => {
          const answer = await call(service, "PUT", items, {
            key: service.key,
            raw: `{"items":[{"key":"huge","t":"${"x".repeat(16 * 1024 * 1024)}"}]}`,
            headers: { "content-type": "application/json" },
          });
          assert.deepEqual([answer.status, answer.json], [400, { errors: ["Request size exceeds 16 MB"] }]);
        },
      ],
      [
        "a key that is not a string, and two items with one key",
        async () => {
          const number = await call(service, "PUT", items, { key: service.key, body: { items: [{ key: 7 }] } });
          assert.deepEqual([number.status, number.json], [400, { errors: ["Key must be a string"] }]);
          const twice = await call(service, "PUT", items, {
            key: service.key,
            body: { items: [{ key: "twin" }, { key: "twin" }] },
          });
          assert.equal(twice.status, 400);
          assert.equal(await service.service.bases.get(service.projectId, "shop", "twin"), undefined);
        },
      ],
      [
        "a number of 17 digits, and an empty attribute name",
        async () => {
          for (const raw of ['{"items":[{"key":"n","n":12345678901234567}]}', '{"items":[{"key":"n","":1}]}']) {
            const answer = await call(service, "PUT", items, {
              key: service.key,
              raw,
              headers: { "content-type": "application/json" },
            });
            assert.equal(answer.status, 400);
          }
          assert.equal(await service.service.bases.get(service.projectId, "shop", "n"), undefined);
        },
      ],
      [
        "a bad query operator, and a limit under 1",
        async () => {
          for (const body of [{ query: [{ "name?like": "x" }] }, { query: [], limit: 0 }]) {
            const answer = await call(service, "POST", base("/query"), { key: service.key, body });
            assert.deepEqual([answer.status, answer.json], [400, { errors: ["Bad query"] }]);
          }
        },
      ],
      [
        "an attribute in both set and delete, and an update of the key",
        async () => {
          for (const body of [
            { set: { p: 1 }, delete: ["p"] },
            { set: { key: "other" } },
            { increment: { key: 1 } },
            { delete: ["key"] },
          ]) {
            const answer = await call(service, "PATCH", base("/items/u"), { key: service.key, body });
            assert.equal(answer.status, 400, JSON.stringify(body));
            assert.equal((answer.json as { errors: string[] }).errors.length, 1);
          }
          assert.deepEqual(JSON.parse((await service.service.bases.get(service.projectId, "shop", "u")) as string), {
            key: "u",
            p: { q: 1 },
          });
        },
      ],
      [
        "a wrong project key, no key, and a key of another project",
        async () => {
          const body = { items: [{ key: "intruder" }] };
          for (const key of [`${service.projectId}_wrong`, undefined, service.otherKey, "garbage"]) {
            const answer = await call(service, "PUT", items, { ...(key !== undefined && { key }), body });
            assert.deepEqual([answer.status, answer.json], [401, { errors: ["Unauthorized"] }]);
          }
          // The other project's own key on the other project's path opens only its own (empty) base.
          const own = await call(service, "GET", `/v1/${service.otherProjectId}/shop/items/a`, {
            key: service.otherKey,
          });
          assert.equal(own.status, 404);
          assert.equal(await service.service.bases.get(service.projectId, "shop", "intruder"), undefined);
          assert.equal(await service.service.bases.get(service.otherProjectId, "shop", "intruder"), undefined);
        },
      ],
    ];
    for (const [what, check] of refusals) it(`refuses ${what} with a 4xx and Deta's errors, storing nothing`, check);
  });

  describe(`Drive over HTTP on ${name}`, { skip }, () => {
    let service: DataServiceUnderTest;
    const drive = (path: string) => `/v1/${service.projectId}/files${path}`;
    before(async () => {
      service = await useDataService(kind, { driveQuotaBytes: 64 * 1024 });
    });

    it("stores a small file with POST /files (201) and serves it with its type, length and ranges", async () => {
      const put = await call(service, "POST", drive("/files?name=docs%2Freadme.md"), {
        key: service.key,
        raw: "# hello",
      });
      assert.deepEqual(
        [put.status, put.json],
        [201, { name: "docs/readme.md", project_id: service.projectId, drive_name: "files" }],
      );
      const got = await call(service, "GET", drive("/files/download?name=docs%2Freadme.md"), { key: service.key });
      assert.equal(got.status, 200);
      assert.equal(got.body, "# hello");
      assert.equal(got.headers["content-type"], "text/markdown");
      assert.equal(got.headers["content-length"], "7");
      assert.equal(got.headers["accept-ranges"], "bytes");
      const part = await call(service, "GET", drive("/files/download?name=docs%2Freadme.md"), {
        key: service.key,
        headers: { range: "bytes=2-" },
      });
      assert.deepEqual([part.status, part.body, part.headers["content-range"]], [206, "hello", "bytes 2-6/7"]);
      const missing = await call(service, "GET", drive("/files/download?name=nope"), { key: service.key });
      assert.equal(missing.status, 404);
    });

    it("answers a single put over 10 MB with Drive's HTML 413, storing nothing", async () => {
      const answer = await call(service, "POST", drive("/files?name=huge"), {
        key: service.key,
        raw: Buffer.alloc(10 * 1024 * 1024 + 1),
      });
      assert.deepEqual([answer.status, answer.body], [413, "<h1> 413 - Request Entity Too Large </h1>"]);
      assert.equal(await service.service.drives.get(service.projectId, "files", "huge"), undefined);
    });

    it("refuses a name ending in /, and a wrong key", async () => {
      const folder = await call(service, "POST", drive("/files?name=dir%2F"), { key: service.key, raw: "x" });
      assert.equal(folder.status, 400);
      const stranger = await call(service, "POST", drive("/files?name=x"), { key: service.otherKey, raw: "x" });
      assert.deepEqual([stranger.status, stranger.json], [401, { errors: ["Unauthorized"] }]);
    });

    it("aborts an upload, dropping its parts, and refuses what does not fit the project's quota", async () => {
      const started = await call(service, "POST", drive("/uploads?name=big.bin"), { key: service.key });
      assert.equal(started.status, 202);
      const { upload_id: id } = started.json as { upload_id: string };
      const part = await call(service, "POST", drive(`/uploads/${id}/parts?name=big.bin&part=1`), {
        key: service.key,
        raw: Buffer.alloc(40 * 1024),
      });
      assert.deepEqual(part.json, {
        name: "big.bin",
        project_id: service.projectId,
        drive_name: "files",
        upload_id: id,
        part: 1,
      });
      // 40 KB in parts and 7 bytes in files of 64 KB: 30 KB more does not fit.
      const over = await call(service, "POST", drive("/files?name=more"), {
        key: service.key,
        raw: Buffer.alloc(30 * 1024),
      });
      assert.equal(over.status, 507);
      assert.match(
        (over.json as { errors: string[] }).errors[0] as string,
        /Drive storage is full: 40 KB of 64 KB used/,
      );
      const aborted = await call(service, "DELETE", drive(`/uploads/${id}?name=big.bin`), { key: service.key });
      assert.equal(aborted.status, 200);
      const fits = await call(service, "POST", drive("/files?name=more"), {
        key: service.key,
        raw: Buffer.alloc(30 * 1024),
      });
      assert.equal(fits.status, 201);
    });
  });
}
