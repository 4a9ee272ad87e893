import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BaseStore, PAGE_SCAN_BYTES, type QueryOptions } from "../../src/server/data/base/base-store.js";
import { type Json, type JsonObject, prepareItem } from "../../src/server/data/base/item.js";
import { matches, parseQuery } from "../../src/server/data/base/query.js";
import { applyUpdate, parseUpdate } from "../../src/server/data/base/update.js";
import { openDataDatabase } from "../../src/server/data/data-database.js";
import { DetaError } from "../../src/server/data/deta-error.js";
import { useTmpDir } from "../helpers/micros.js";

/** A store on a fresh database, with a clock the test turns (Unix seconds). */
async function storeWithClock(): Promise<{ store: BaseStore; clock: { now: number } }> {
  const clock = { now: 1_700_000_000 };
  const db = openDataDatabase(join(await useTmpDir("micros-base-"), "data.db"));
  return { store: new BaseStore(db, () => clock.now), clock };
}

function put(store: BaseStore, base: string, ...items: JsonObject[]) {
  store.put("p1", base, items.map(prepareItem));
}

const keys = (json: string[]) => json.map((item) => (JSON.parse(item) as { key: string }).key);

function refusal(work: () => unknown): { status: number; message: string } {
  try {
    work();
  } catch (err) {
    if (err instanceof DetaError) return { status: err.status, message: err.message };
    throw err;
  }
  assert.fail("expected a refusal");
}

describe("Base queries", () => {
  it("parse every operator and alias, and refuse what Deta called a bad query", () => {
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
        refusal(() => parseQuery(bad)),
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

  it("prefilter in SQL no item that the full check would match", async () => {
    const { store } = await storeWithClock();
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
    for (let start = 0; start < items.length; start += 25) put(store, "mixed", ...items.slice(start, start + 25));
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
          assert.deepEqual(keys(store.query("p1", "mixed", parsed).items), expected.sort(), JSON.stringify(query));
          checked++;
        }
      }
    }
    assert.ok(checked > 300);
  });
});

describe("Base store", () => {
  it("keeps items in key order and pages by key, ascending and descending, with last only while more match", async () => {
    const { store } = await storeWithClock();
    put(store, "b", ...["d", "a", "c", "b", "e"].map((key) => ({ key, even: "bd".includes(key) })));
    const page = (options: QueryOptions, query: unknown = []) => store.query("p1", "b", parseQuery(query), options);
    assert.deepEqual(keys(page({}).items), ["a", "b", "c", "d", "e"]);
    assert.deepEqual(page({ limit: 2 }).last, "b");
    assert.deepEqual(keys(page({ limit: 2, last: "b" }).items), ["c", "d"]);
    assert.equal(page({ limit: 1, last: "d" }).last, undefined, "no last when exactly the rest is returned");
    assert.deepEqual(keys(page({ desc: true, limit: 2 }).items), ["e", "d"]);
    assert.deepEqual(keys(page({ desc: true, last: "c" }).items), ["b", "a"]);
    assert.equal(page({ limit: 2 }, { even: true }).last, undefined);
    assert.deepEqual(keys(page({}, { "key?pfx": "c" }).items), ["c"]);
    assert.deepEqual(keys(page({}, { "key?r": ["b", "d"] }).items), ["b", "c", "d"]);
    assert.deepEqual(store.query("p1", "never", parseQuery([]), {}), { items: [] });
  });

  it("pages across many chunks of rows, both ways, returning every match once", async () => {
    const { store } = await storeWithClock();
    const all = Array.from({ length: 700 }, (_, i) => ({ key: `k${String(i).padStart(4, "0")}`, n: i }));
    for (let start = 0; start < all.length; start += 25) put(store, "many", ...all.slice(start, start + 25));
    const query = parseQuery({ "n?not_contains": "x", "key?gte": "k0003" });
    for (const desc of [false, true]) {
      for (const limit of [1, 7, 256, 257, 1000]) {
        const seen: string[] = [];
        let last: string | undefined;
        do {
          const page = store.query("p1", "many", query, { limit, desc, ...(last !== undefined && { last }) });
          seen.push(...keys(page.items));
          last = page.last;
        } while (last !== undefined);
        const expected = all.map((item) => item.key).filter((key) => key >= "k0003");
        assert.deepEqual(seen, desc ? expected.reverse() : expected, `limit ${limit}, desc ${desc}`);
      }
    }
  });

  it("reads at most 1 MB per page, so a query over a large base comes in pages that may be empty", async () => {
    const { store } = await storeWithClock();
    const text = "x".repeat(100 * 1024);
    for (let batch = 0; batch < 2; batch++) {
      put(
        store,
        "big",
        ...Array.from({ length: 12 }, (_, i) => ({ key: `k${batch}${String(i).padStart(2, "0")}`, text })),
      );
    }
    // A condition SQL cannot prefilter: every item is read.
    const query = parseQuery({ "text?not_contains": "x" });
    const first = store.query("p1", "big", query, {});
    assert.deepEqual(first.items, []);
    assert.ok(first.last, "an empty page still says where to go on");
    let last: string | undefined = first.last;
    let pages = 1;
    while (last !== undefined) {
      last = store.query("p1", "big", query, { last }).last;
      pages++;
    }
    assert.equal(pages, Math.ceil((24 * (text.length + 30)) / PAGE_SCAN_BYTES));
  });

  it("never returns an item past its __expires, inserts over it, and sweeps it away", async () => {
    const { store, clock } = await storeWithClock();
    put(
      store,
      "t",
      { key: "soon", __expires: clock.now + 10 },
      { key: "never" },
      { key: "past", __expires: clock.now - 1 },
    );
    assert.equal(store.get("p1", "t", "past"), undefined);
    assert.ok(store.get("p1", "t", "soon"));
    clock.now += 10;
    assert.equal(store.get("p1", "t", "soon"), undefined);
    assert.deepEqual(keys(store.query("p1", "t", parseQuery([])).items), ["never"]);
    assert.equal(store.list("p1")[0]?.items, 1);
    store.insert("p1", "t", prepareItem({ key: "soon", again: true }));
    assert.deepEqual(JSON.parse(store.get("p1", "t", "soon") as string), { key: "soon", again: true });
    assert.equal(store.sweep(), 1);
    assert.equal(store.sweep(), 0);
  });

  it("refuses an insert over a live key with Deta's 409", async () => {
    const { store } = await storeWithClock();
    store.insert("p1", "i", prepareItem({ key: "a" }));
    assert.deepEqual(
      refusal(() => store.insert("p1", "i", prepareItem({ key: "a" }))),
      {
        status: 409,
        message: "Key already exists",
      },
    );
  });

  it("keeps projects apart: the same base name in two projects holds two sets of items", async () => {
    const { store } = await storeWithClock();
    store.put("p1", "shared", [prepareItem({ key: "a", owner: 1 })]);
    store.put("p2", "shared", [prepareItem({ key: "a", owner: 2 })]);
    assert.equal(JSON.parse(store.get("p1", "shared", "a") as string).owner, 1);
    assert.equal(JSON.parse(store.get("p2", "shared", "a") as string).owner, 2);
    store.delete("p2", "shared", "a");
    assert.ok(store.get("p1", "shared", "a"));
  });

  it("updates in one transaction; an update that fails leaves the item as it was", async () => {
    const { store, clock } = await storeWithClock();
    put(store, "u", { key: "a", n: 1, list: ["x"], profile: { age: 1 } });
    const update = (body: unknown) => store.update("p1", "u", "a", parseUpdate(body));
    update({ increment: { n: 2 }, append: { list: ["y"] }, prepend: { list2: ["z"] }, set: { "profile.age": 2 } });
    assert.throws(() => update({ increment: { list: 1 } }), DetaError);
    assert.throws(() => update({ set: { "nothing.at": 1 } }), DetaError);
    assert.throws(() => update({ set: { big: "x".repeat(400 * 1024) } }), DetaError);
    assert.deepEqual(JSON.parse(store.get("p1", "u", "a") as string), {
      key: "a",
      n: 3,
      list: ["x", "y"],
      profile: { age: 2 },
      list2: ["z"],
    });
    update({ set: { __expires: clock.now + 1 } });
    clock.now += 1;
    assert.equal(refusal(() => update({ set: { n: 1 } })).status, 404);
  });
});

describe("Base items and updates", () => {
  it("refuse what Deta refused, with one clear message each", () => {
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
    for (const [item, message] of cases) assert.equal(refusal(() => prepareItem(item)).message, message);
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    assert.equal(refusal(() => prepareItem({ deep })).status, 400);
  });

  it("refuse an update that touches the key, overlaps itself or says nothing", () => {
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
      assert.equal(refusal(() => parseUpdate(body)).status, 400, JSON.stringify(body));
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
