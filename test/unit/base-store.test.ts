/**
 * Deta Base's semantics, on each store: SQLite (data.db) and PostgreSQL (from MICROS_TEST_DATABASE_URL, in a
 * database of its own). The routes rely on these answers whichever store is chosen.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Bases, PAGE_SCAN_BYTES, type QueryOptions } from "../../src/server/data/base/bases.js";
import { type Json, type JsonObject, prepareItem } from "../../src/server/data/base/item.js";
import { matches, parseQuery } from "../../src/server/data/base/query.js";
import { applyUpdate, parseUpdate } from "../../src/server/data/base/update.js";
import { DetaError } from "../../src/server/data/deta-error.js";
import { useDataStores } from "../helpers/data-service.js";
import { STORE_KINDS, type StoreKind } from "../helpers/store.js";

/** A store on a fresh database, with a clock the test turns (Unix seconds). */
async function storeWithClock(kind: StoreKind): Promise<{ store: Bases; clock: { now: number } }> {
  const clock = { now: 1_700_000_000 };
  const { service } = await useDataStores(kind, { clock: () => clock.now });
  return { store: service.bases, clock };
}

async function put(store: Bases, base: string, ...items: JsonObject[]) {
  await store.put("p1", base, items.map(prepareItem));
}

const keys = (json: string[]) => json.map((item) => (JSON.parse(item) as { key: string }).key);

async function refusal(work: () => unknown): Promise<{ status: number; message: string }> {
  try {
    await work();
  } catch (err) {
    if (err instanceof DetaError) return { status: err.status, message: err.message };
    throw err;
  }
  assert.fail("expected a refusal");
}

describe("Base queries", () => {
  it("parse every operator and alias, and refuse what Deta called a bad query", async () => {
    for (const op of [
      "",
      "?ne",
      "?lt",
      "?<",
      "?gt",
      "?>",
      "?lte",
      "?<=",
      "?gte",
      "?>=",
      "?contains",
      "?not_contains",
      "?!contains",
    ]) {
      parseQuery([{ [`a.b${op}`]: 1 }]);
    }
    parseQuery([{ "a?pfx": "x", "b?r": [1, 2], "c?r": ["a", "b"] }]);
    for (const bad of [
      [{ "a?": 1 }],
      [{ "a?like": 1 }],
      [{ "?": 1 }],
      [{ "a..b": 1 }],
      [{ "a?pfx": 1 }],
      [{ "a?r": [1, "b"] }],
      [{ "a?lt": true }],
      [{ "key?contains": "a" }],
      [{ key: 1 }],
      [{ key: "a", "key?gt": "b" }],
      [{ key: "a" }, {}],
      ["not an object"],
    ]) {
      assert.deepEqual(
        await refusal(() => parseQuery(bad)),
        { status: 400, message: "Bad query" },
        JSON.stringify(bad),
      );
    }
  });

  it("match with Deta's semantics: deep equality, typed comparisons, contains on strings and lists of strings", () => {
    const item = { key: "k", n: 5, s: "hello", tags: ["a", "b"], nums: [1, 2], o: { deep: { x: 1 } }, t: true };
    const holds = (query: unknown) => matches(parseQuery(query), item);
    assert.ok(holds({ "o.deep": { x: 1 } }));
    assert.ok(holds({ tags: ["a", "b"] }));
    assert.ok(!holds({ tags: ["b", "a"] }));
    assert.ok(holds({ "n?r": [5, 6], "s?r": ["a", "z"], "n?gte": 5, "n?<": 6 }));
    assert.ok(!holds({ "s?gt": 1 }), "a string is not compared with a number");
    assert.ok(holds({ "s?contains": "ell", "tags?contains": "a" }));
    assert.ok(!holds({ "nums?contains": 1 }), "membership is for lists of strings");
    assert.ok(holds({ "missing?ne": 1, "missing?not_contains": "x" }));
    assert.ok(!holds({ missing: null }));
    assert.ok(holds([{ n: 1 }, { t: true }]));
    assert.ok(!holds({ "__proto__.polluted": undefined as unknown as null }));
  });
});

for (const { kind, name, skip } of STORE_KINDS) {
  describe(`Base store on ${name}`, { skip }, () => {
    it("prefilters no item that the full check would match", async () => {
      const { store } = await storeWithClock(kind);
      const values: Json[] = [
        0,
        1,
        2,
        -3,
        2.5,
        1e15,
        "1",
        "a",
        "b",
        "ab",
        'say "hi"',
        "back\\slash",
        "ünï",
        "😀",
        "\n",
        "",
        true,
        false,
        null,
        [1],
        ["a", "b"],
        { x: 1 },
        { y: { x: 1 } },
      ];
      const items: JsonObject[] = values.flatMap((value, i): JsonObject[] => [
        { key: `v${i}`, a: value, o: { b: value } },
        { key: `w${i}`, other: value, list: [value, "z"] },
      ]);
      for (let start = 0; start < items.length; start += 25)
        await put(store, "mixed", ...items.slice(start, start + 25));
      const operators = ["", "?ne", "?lt", "?gt", "?lte", "?gte", "?pfx", "?contains", "?not_contains", "?r"];
      const needles = [...values, "\uD83D", [0, 2], ["a", "b"]];
      let checked = 0;
      for (const value of needles) {
        for (const op of operators) {
          for (const attribute of ["a", "o.b", "list"]) {
            const query = [{ [`${attribute}${op}`]: value }];
            let parsed: ReturnType<typeof parseQuery>;
            try {
              parsed = parseQuery(query);
            } catch {
              continue;
            }
            const expected = items.filter((item) => matches(parsed, item)).map((item) => item.key as string);
            const found = keys((await store.query("p1", "mixed", parsed)).items);
            assert.deepEqual(found, expected.sort(), JSON.stringify(query));
            checked++;
          }
        }
      }
      assert.ok(checked > 300);
    });

    it("keeps items in key order and pages by key, ascending and descending, with last only while more match", async () => {
      const { store } = await storeWithClock(kind);
      await put(store, "b", ...["d", "a", "c", "b", "e"].map((key) => ({ key, even: "bd".includes(key) })));
      const page = (options: QueryOptions, query: unknown = []) => store.query("p1", "b", parseQuery(query), options);
      assert.deepEqual(keys((await page({})).items), ["a", "b", "c", "d", "e"]);
      assert.deepEqual((await page({ limit: 2 })).last, "b");
      assert.deepEqual(keys((await page({ limit: 2, last: "b" })).items), ["c", "d"]);
      assert.equal((await page({ limit: 1, last: "d" })).last, undefined, "no last when exactly the rest is returned");
      assert.deepEqual(keys((await page({ desc: true, limit: 2 })).items), ["e", "d"]);
      assert.deepEqual(keys((await page({ desc: true, last: "c" })).items), ["b", "a"]);
      assert.equal((await page({ limit: 2 }, { even: true })).last, undefined);
      assert.deepEqual(keys((await page({}, { "key?pfx": "c" })).items), ["c"]);
      assert.deepEqual(keys((await page({}, { "key?r": ["b", "d"] })).items), ["b", "c", "d"]);
      assert.deepEqual(await store.query("p1", "never", parseQuery([]), {}), { items: [] });
    });

    it("orders keys by their UTF-8 bytes, NUL and characters past the BMP included, and finds them by prefix", async () => {
      const { store } = await storeWithClock(kind);
      const all = ["a", "a\u0000", "a\u0000b", "ab", "a\uFFFF", "a😀", "a😀\u0000", "é", "\uE000", "😀", "Z", "_"];
      await put(store, "order", ...all.map((key) => ({ key })));
      const expected = [...all].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(keys((await store.query("p1", "order", parseQuery([]))).items), expected);
      assert.deepEqual(keys((await store.query("p1", "order", parseQuery({ "key?pfx": "a\u0000" }))).items), [
        "a\u0000",
        "a\u0000b",
      ]);
      assert.deepEqual(keys((await store.query("p1", "order", parseQuery({ "key?pfx": "a😀" }))).items), [
        "a😀",
        "a😀\u0000",
      ]);
      assert.equal(await store.get("p1", "order", "a\u0000b"), '{"key":"a\\u0000b"}');
      const page = await store.query("p1", "order", parseQuery([]), { limit: 2, last: "a\u0000" });
      assert.deepEqual([keys(page.items), page.last], [["a\u0000b", "ab"], "ab"]);
    });

    it("pages across many chunks of rows, both ways, returning every match once", async () => {
      const { store } = await storeWithClock(kind);
      const all = Array.from({ length: 1100 }, (_, i) => ({ key: `k${String(i).padStart(4, "0")}`, n: i }));
      for (let start = 0; start < all.length; start += 25) await put(store, "many", ...all.slice(start, start + 25));
      const query = parseQuery({ "n?not_contains": "x", "key?gte": "k0003" });
      for (const desc of [false, true]) {
        for (const limit of [1, 7, 256, 257, 1000, 1024, 1025]) {
          // Limit 1 on 1,097 matches would be 1,097 pages: it runs on the first 30.
          const seen: string[] = [];
          let last: string | undefined;
          let pages = 0;
          do {
            const page = await store.query("p1", "many", query, { limit, desc, ...(last !== undefined && { last }) });
            seen.push(...keys(page.items));
            last = page.last;
            pages++;
          } while (last !== undefined && (limit > 1 || pages < 30));
          const expected = all.map((item) => item.key).filter((key) => key >= "k0003");
          const ordered = desc ? expected.reverse() : expected;
          assert.deepEqual(seen, limit > 1 ? ordered : ordered.slice(0, 30), `limit ${limit}, desc ${desc}`);
        }
      }
    });

    it("reads at most 1 MB per page, so a query over a large base comes in pages that may be empty", async () => {
      const { store } = await storeWithClock(kind);
      const text = "x".repeat(100 * 1024);
      for (let batch = 0; batch < 2; batch++) {
        await put(
          store,
          "big",
          ...Array.from({ length: 12 }, (_, i) => ({ key: `k${batch}${String(i).padStart(2, "0")}`, text })),
        );
      }
      // A condition no prefilter rules out: every item is read.
      const query = parseQuery({ "text?not_contains": "x" });
      const first = await store.query("p1", "big", query, {});
      assert.deepEqual(first.items, []);
      assert.ok(first.last, "an empty page still says where to go on");
      let last: string | undefined = first.last;
      let pages = 1;
      while (last !== undefined) {
        last = (await store.query("p1", "big", query, { last })).last;
        pages++;
      }
      assert.equal(pages, Math.ceil((24 * (text.length + 30)) / PAGE_SCAN_BYTES));
    });

    it("ends a page after the same row whichever way the rows are read: by 1 MB, by limit, with matches sparse", async () => {
      const { store } = await storeWithClock(kind);
      // Items of 1 to 60 KB, one in five a match: pages end by budget, by limit, or both, and the next starts
      // after the right row. The reference reads the items in order, as the definition of a page says.
      const all = Array.from({ length: 120 }, (_, i) => ({
        key: `k${String(i).padStart(3, "0")}`,
        hit: i % 5 === 0,
        pad: "p".repeat(((i * 7919) % 60) * 1024 + 1024),
      }));
      for (let start = 0; start < all.length; start += 25) await put(store, "sizes", ...all.slice(start, start + 25));
      const reference = (limit: number, desc: boolean, last?: string) => {
        const rows = (desc ? [...all].reverse() : all).filter(
          (item) => last === undefined || (desc ? item.key < last : item.key > last),
        );
        const items: string[] = [];
        let read = 0;
        let lastRead: string | undefined;
        for (const item of rows) {
          if (read >= PAGE_SCAN_BYTES) return { items, last: items.length >= limit ? items.at(-1) : lastRead };
          read += Buffer.byteLength(JSON.stringify(item));
          lastRead = item.key;
          if (!item.hit) continue;
          if (items.length >= limit) return { items, last: items.at(-1) };
          items.push(item.key);
        }
        return { items, last: undefined };
      };
      for (const desc of [false, true]) {
        for (const limit of [1, 3, 100]) {
          let last: string | undefined;
          do {
            const page = await store.query("p1", "sizes", parseQuery({ hit: true }), {
              limit,
              desc,
              ...(last !== undefined && { last }),
            });
            const expected = reference(limit, desc, last);
            assert.deepEqual({ items: keys(page.items), last: page.last }, expected, `limit ${limit}, desc ${desc}`);
            last = page.last;
          } while (last !== undefined);
        }
      }
    });

    it("never returns an item past its __expires, inserts over it, and sweeps it away", async () => {
      const { store, clock } = await storeWithClock(kind);
      await put(
        store,
        "t",
        { key: "soon", __expires: clock.now + 10 },
        { key: "never" },
        { key: "past", __expires: clock.now - 1 },
      );
      assert.equal(await store.get("p1", "t", "past"), undefined);
      assert.ok(await store.get("p1", "t", "soon"));
      clock.now += 10;
      assert.equal(await store.get("p1", "t", "soon"), undefined);
      assert.deepEqual(keys((await store.query("p1", "t", parseQuery([]))).items), ["never"]);
      assert.equal((await store.list("p1"))[0]?.items, 1);
      await store.insert("p1", "t", prepareItem({ key: "soon", again: true }));
      assert.deepEqual(JSON.parse((await store.get("p1", "t", "soon")) as string), { key: "soon", again: true });
      assert.equal(await store.sweep(), 1);
      assert.equal(await store.sweep(), 0);
    });

    it("refuses an insert over a live key with Deta's 409", async () => {
      const { store } = await storeWithClock(kind);
      await store.insert("p1", "i", prepareItem({ key: "a" }));
      assert.deepEqual(await refusal(() => store.insert("p1", "i", prepareItem({ key: "a" }))), {
        status: 409,
        message: "Key already exists",
      });
    });

    it("keeps projects apart: the same base name in two projects holds two sets of items", async () => {
      const { store } = await storeWithClock(kind);
      await store.put("p1", "shared", [prepareItem({ key: "a", owner: 1 })]);
      await store.put("p2", "shared", [prepareItem({ key: "a", owner: 2 })]);
      assert.equal(JSON.parse((await store.get("p1", "shared", "a")) as string).owner, 1);
      assert.equal(JSON.parse((await store.get("p2", "shared", "a")) as string).owner, 2);
      await store.delete("p2", "shared", "a");
      assert.ok(await store.get("p1", "shared", "a"));
    });

    it("lists a project's bases by name with their live items, and removes them with the project", async () => {
      const { store } = await storeWithClock(kind);
      await put(store, "b", { key: "1" }, { key: "2" });
      await put(store, "B", { key: "1" });
      await put(store, "é", { key: "1" });
      await store.put("p2", "other", [prepareItem({ key: "1" })]);
      const listed = (await store.list("p1")).map(({ name, items }) => [name, items]);
      assert.deepEqual(listed, [
        ["B", 1],
        ["b", 2],
        ["é", 1],
      ]);
      await store.removeProject("p1");
      assert.deepEqual(await store.list("p1"), []);
      assert.equal(await store.get("p1", "b", "1"), undefined);
      assert.equal((await store.list("p2")).length, 1);
      await put(store, "b", { key: "again" });
      assert.deepEqual(keys((await store.query("p1", "b", parseQuery([]))).items), ["again"]);
    });

    it("updates in one transaction; an update that fails leaves the item as it was", async () => {
      const { store, clock } = await storeWithClock(kind);
      await put(store, "u", { key: "a", n: 1, list: ["x"], profile: { age: 1 } });
      const update = (body: unknown) => store.update("p1", "u", "a", parseUpdate(body));
      await update({
        increment: { n: 2 },
        append: { list: ["y"] },
        prepend: { list2: ["z"] },
        set: { "profile.age": 2 },
      });
      await assert.rejects(update({ increment: { list: 1 } }), DetaError);
      await assert.rejects(update({ set: { "nothing.at": 1 } }), DetaError);
      await assert.rejects(update({ set: { big: "x".repeat(400 * 1024) } }), DetaError);
      assert.deepEqual(JSON.parse((await store.get("p1", "u", "a")) as string), {
        key: "a",
        n: 3,
        list: ["x", "y"],
        profile: { age: 2 },
        list2: ["z"],
      });
      await update({ set: { __expires: clock.now + 1 } });
      clock.now += 1;
      assert.equal((await refusal(() => update({ set: { n: 1 } }))).status, 404);
      assert.equal((await refusal(() => store.update("p1", "never", "a", parseUpdate({ set: { n: 1 } })))).status, 404);
    });

    it("loses no update when many run at once on one item", async () => {
      const { store } = await storeWithClock(kind);
      await put(store, "count", { key: "c", n: 0, seen: [] });
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          store.update("p1", "count", "c", parseUpdate({ increment: { n: 1 }, append: { seen: [i] } })),
        ),
      );
      const item = JSON.parse((await store.get("p1", "count", "c")) as string) as { n: number; seen: number[] };
      assert.equal(item.n, 30);
      assert.deepEqual(
        [...item.seen].sort((a, b) => a - b),
        Array.from({ length: 30 }, (_, i) => i),
      );
    });
  });
}

describe("Base items and updates", () => {
  it("refuse what Deta refused, with one clear message each", async () => {
    const cases: [unknown, string][] = [
      [{ key: 1 }, "Key must be a string"],
      [{ key: "" }, "Key is empty"],
      [{ key: "k".repeat(1025) }, "Key is longer than 1024 bytes"],
      [{ "": 1 }, "Attribute names can't be empty"],
      [{ a: { "": 1 } }, "Attribute names can't be empty"],
      [{ n: 1e16 }, "Number 10000000000000000 has more than 16 digits: store it as a string"],
      [{ __expires: "tomorrow" }, "__expires must be a number (Unix seconds)"],
      [[1], "Item must be an object"],
    ];
    for (const [item, message] of cases) assert.equal((await refusal(() => prepareItem(item))).message, message);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    assert.equal((await refusal(() => prepareItem({ deep }))).status, 400);
  });

  it("refuse an update that touches the key, overlaps itself or says nothing", async () => {
    for (const body of [
      {},
      { set: {}, delete: [] },
      { set: { key: 1 } },
      { delete: ["key"] },
      { append: { key: ["x"] } },
      { set: { a: 1 }, delete: ["a"] },
      { set: { a: 1 }, increment: { "a.b": 1 } },
      { increment: { a: "1" } },
      { append: { a: "x" } },
      { set: { "a..b": 1 } },
      { rename: {} },
    ]) {
      assert.equal((await refusal(() => parseUpdate(body))).status, 400, JSON.stringify(body));
    }
  });

  it("never writes through __proto__", () => {
    const item = applyUpdate({ key: "a" }, parseUpdate(JSON.parse('{"set":{"__proto__":{"polluted":1}}}')));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(JSON.stringify(item), '{"key":"a","__proto__":{"polluted":1}}');
    assert.throws(() => applyUpdate({ key: "a" }, parseUpdate({ set: { "__proto__.polluted": 1 } })), DetaError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
