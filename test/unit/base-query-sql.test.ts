import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BaseStore } from "../../src/server/data/base/base-store.js";
import { type Json, type JsonObject, prepareItem } from "../../src/server/data/base/item.js";
import { matches, parseQuery } from "../../src/server/data/base/query.js";
import { queryFilter } from "../../src/server/data/base/query-sql.js";
import { openDataDatabase } from "../../src/server/data/data-database.js";
import { useTmpDir } from "../helpers/micros.js";

async function storeOf(items: JsonObject[]): Promise<BaseStore> {
  const store = new BaseStore(openDataDatabase(join(await useTmpDir("micros-query-sql-"), "data.db")));
  for (let start = 0; start < items.length; start += 25) {
    store.put("p1", "b", items.slice(start, start + 25).map(prepareItem));
  }
  return store;
}

/** Every key the store returns for the query, across all its pages. */
function selected(store: BaseStore, raw: unknown): string[] {
  const query = parseQuery(raw);
  const keys: string[] = [];
  let last: string | undefined;
  do {
    const page = store.query("p1", "b", query, last === undefined ? {} : { last });
    keys.push(...page.items.map((item) => (JSON.parse(item) as { key: string }).key));
    last = page.last;
  } while (last !== undefined);
  return keys;
}

/**
 * Values SQL could get wrong: numbers against strings of them, integers against reals, booleans against 0 and 1,
 * null against missing, strings across the places where UTF-8 and UTF-16 order differ (U+E000 up, supplementary
 * characters, a lone surrogate), escapes, and lists and objects (in another attribute order) compared whole.
 */
const VALUES: Json[] = [
  0,
  1,
  -1,
  1.5,
  0.1,
  0.30000000000000004,
  9999999999999998,
  -2.5e-7,
  "0",
  "1",
  "1.5",
  "true",
  "null",
  "",
  "a",
  "A",
  "ab",
  "abc",
  "b",
  "é",
  "日本",
  "\uE000",
  "\uFFFD",
  "\uFFFF",
  "😀",
  "a😀",
  "a\uE000",
  "\uD800",
  "x\uDC00y",
  "\u0000",
  "tab\there",
  'quote"d',
  "back\\slash",
  "member",
  "[1]",
  true,
  false,
  null,
  [],
  [1],
  [1, 2],
  ["a", "b"],
  ["b", "a"],
  ["member", 1],
  [1, "member"],
  [true, null],
  [["a"]],
  [{ x: 1 }],
  {},
  { x: 1 },
  { x: 1, y: "a" },
  { y: "a", x: 1 },
  { x: { y: [1] } },
  { 1: "a", x: 2 },
];

const ITEMS: JsonObject[] = VALUES.flatMap((value, i): JsonObject[] => [
  { key: `a${String(i).padStart(3, "0")}`, a: value, o: { b: value } },
  { key: `l${String(i).padStart(3, "0")}`, list: [value, "z"], "a.b": value },
  { key: `m${String(i).padStart(3, "0")}`, o: { b: { c: value } }, "é.name": { x: value } },
]);

describe("Base queries in SQL", () => {
  it("select exactly the items Deta's semantics match, for every operator, type and path", async () => {
    const all = [
      ...ITEMS,
      ...(JSON.parse(
        `[{"key":"n1","a":[1,2,3],"o":"not an object"},{"key":"n2","o":["b"],"list":"member"},
          {"key":"n3","__proto__":{"b":1}},{"key":"n4","é":{"name":{"x":1}}}]`,
      ) as JsonObject[]),
    ];
    const store = await storeOf(all);
    const operators = ["", "?ne", "?lt", "?gt", "?lte", "?gte", "?pfx", "?contains", "?not_contains", "?r"];
    const attributes = ["a", "o.b", "list", "a.b", "o.b.c", "list.0", "é.name.x", "__proto__.b", "missing"];
    let checked = 0;
    let exact = 0;
    for (const value of [...VALUES, [0, 1.5], ["a", "b"], ["", "\uE000"], ["a", "😀"], [-1, 0.1]]) {
      for (const op of operators) {
        for (const attribute of attributes) {
          const raw = [{ [`${attribute}${op}`]: value }];
          let query: ReturnType<typeof parseQuery>;
          try {
            query = parseQuery(raw);
          } catch {
            continue;
          }
          const expected = all.filter((item) => matches(query, item)).map((item) => item.key as string);
          assert.deepEqual(selected(store, raw), expected.sort(), JSON.stringify(raw));
          checked++;
          if (queryFilter(query).exact) exact++;
        }
      }
    }
    assert.ok(checked > 3000, `${checked} queries`);
    // Most of them were answered by SQL alone, so the comparison above tested the SQL.
    assert.ok(exact / checked > 0.85, `${exact} of ${checked} exact`);
  });

  it("answer in SQL alone every operator on plain values, and leave to JavaScript only what SQL cannot say", () => {
    const exact = (raw: unknown) => queryFilter(parseQuery(raw)).exact;
    for (const raw of [
      { "tags?not_contains": "member" },
      { city: "Berlin", "age?gte": 50 },
      { "name?contains": "99" },
      [{ "a?ne": null }, { "b?r": [1, 2] }, { "c?pfx": "😀" }, { d: { x: [1, { y: true }] } }],
      { "a?lt": "日本", "b?gt": -1.5, "é.x": "\uFFFF", "c?contains": "😀" },
      {},
    ]) {
      assert.ok(exact(raw), JSON.stringify(raw));
    }
    for (const raw of [
      { "a?lt": "\uE000" },
      { "a?gt": "😀" },
      { a: "\uD800" },
      { 'say "hi"': 1 },
      { "back\\slash?ne": 1 },
      { a: Array.from({ length: 100 }, (_, i) => i) },
    ]) {
      assert.ok(!exact(raw), JSON.stringify(raw));
    }
  });

  it("take queries too large for one SQLite expression: thousands of conditions, long lists compared whole", async () => {
    const store = await storeOf([
      { key: "a", n: 5, list: Array.from({ length: 500 }, (_, i) => i) },
      { key: "b", n: 6 },
    ]);
    const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}?ne`, i]));
    assert.deepEqual(selected(store, { ...many, n: 5 }), ["a"]);
    assert.deepEqual(
      selected(
        store,
        Array.from({ length: 1500 }, (_, i) => ({ n: i })),
      ),
      ["a", "b"],
    );
    assert.deepEqual(selected(store, { list: Array.from({ length: 500 }, (_, i) => i) }), ["a"]);
  });
});
