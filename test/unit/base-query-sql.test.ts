/**
 * Deta's queries as the stores answer them: SQLite translates them to SQL (query-sql.ts), PostgreSQL checks them in
 * JavaScript after a substring prefilter. Both are held to the reference, `matches()`, over one set of values and
 * queries, and PostgreSQL's pages to SQLite's.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Bases, QueryOptions, QueryPage } from "../../src/server/data/base/bases.js";
import { type Json, type JsonObject, prepareItem } from "../../src/server/data/base/item.js";
import { matches, parseQuery } from "../../src/server/data/base/query.js";
import { queryFilter } from "../../src/server/data/base/query-sql.js";
import { useDataStores } from "../helpers/data-service.js";
import { STORE_KINDS, type StoreKind } from "../helpers/store.js";

async function storeOf(kind: StoreKind, items: JsonObject[]): Promise<Bases> {
  const { bases } = (await useDataStores(kind)).service;
  for (let start = 0; start < items.length; start += 25) {
    await bases.put("p1", "b", items.slice(start, start + 25).map(prepareItem));
  }
  return bases;
}

/** Every page the store returns for the query, following `last`. */
async function pages(store: Bases, raw: unknown, options: QueryOptions = {}): Promise<QueryPage[]> {
  const query = parseQuery(raw);
  const all: QueryPage[] = [];
  let last: string | undefined;
  do {
    const page = await store.query("p1", "b", query, { ...options, ...(last !== undefined && { last }) });
    all.push(page);
    last = page.last;
  } while (last !== undefined);
  return all;
}

/** Every key the store returns for the query, across all its pages. */
async function selected(store: Bases, raw: unknown): Promise<string[]> {
  return (await pages(store, raw)).flatMap((page) =>
    page.items.map((item) => (JSON.parse(item) as { key: string }).key),
  );
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

const ALL: JsonObject[] = [
  ...ITEMS,
  ...(JSON.parse(
    `[{"key":"n1","a":[1,2,3],"o":"not an object"},{"key":"n2","o":["b"],"list":"member"},
      {"key":"n3","__proto__":{"b":1}},{"key":"n4","é":{"name":{"x":1}}}]`,
  ) as JsonObject[]),
];

/** The reference set: every operator on every value at every path, as far as parseQuery takes it. */
const QUERIES = (() => {
  const operators = ["", "?ne", "?lt", "?gt", "?lte", "?gte", "?pfx", "?contains", "?not_contains", "?r"];
  const attributes = ["a", "o.b", "list", "a.b", "o.b.c", "list.0", "é.name.x", "__proto__.b", "missing"];
  const queries: { raw: unknown; query: ReturnType<typeof parseQuery> }[] = [];
  for (const value of [...VALUES, [0, 1.5], ["a", "b"], ["", "\uE000"], ["a", "😀"], [-1, 0.1]]) {
    for (const op of operators) {
      for (const attribute of attributes) {
        const raw = [{ [`${attribute}${op}`]: value }];
        try {
          queries.push({ raw, query: parseQuery(raw) });
        } catch {
          // Not a query Deta took: refused before any store sees it.
        }
      }
    }
  }
  return queries;
})();

for (const { kind, name, skip } of STORE_KINDS) {
  describe(`Base queries on ${name}`, { skip }, () => {
    it("select exactly the items Deta's semantics match, for every operator, type and path", async () => {
      const store = await storeOf(kind, ALL);
      for (const { raw, query } of QUERIES) {
        const expected = ALL.filter((item) => matches(query, item)).map((item) => item.key as string);
        assert.deepEqual(await selected(store, raw), expected.sort(), JSON.stringify(raw));
      }
      assert.ok(QUERIES.length > 3000, `${QUERIES.length} queries`);
    });

    it("take queries too large for one SQL expression: thousands of conditions, long lists compared whole", async () => {
      const store = await storeOf(kind, [
        { key: "a", n: 5, list: Array.from({ length: 500 }, (_, i) => i) },
        { key: "b", n: 6 },
      ]);
      const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}?ne`, i]));
      assert.deepEqual(await selected(store, { ...many, n: 5 }), ["a"]);
      assert.deepEqual(
        await selected(
          store,
          Array.from({ length: 1500 }, (_, i) => ({ n: i })),
        ),
        ["a", "b"],
      );
      assert.deepEqual(await selected(store, { list: Array.from({ length: 500 }, (_, i) => i) }), ["a"]);
    });
  });
}

describe("Base queries on PostgreSQL and SQLite", { skip: STORE_KINDS[1]?.skip }, () => {
  it("give the same pages for every query of the reference set, ascending and descending, in pages of 40", async () => {
    const [sqlite, postgres] = await Promise.all([storeOf("sqlite", ALL), storeOf("postgres", ALL)]);
    for (const { raw } of QUERIES) {
      for (const desc of [false, true]) {
        const options = { limit: 40, desc };
        assert.deepEqual(await pages(postgres, raw, options), await pages(sqlite, raw, options), JSON.stringify(raw));
      }
    }
  });
});

describe("Base queries in SQL", () => {
  it("are answered by SQLite's SQL alone for most of the reference set", () => {
    const exact = QUERIES.filter(({ query }) => queryFilter(query).exact).length;
    // The comparisons with the reference above tested the SQL, not JavaScript's check after it.
    assert.ok(exact / QUERIES.length > 0.85, `${exact} of ${QUERIES.length} exact`);
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
});
