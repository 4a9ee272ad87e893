/**
 * The contract of Deta's JavaScript SDK (1.2.0 and 2.0.0), written once: the queries and Deta's documented answers
 * (its HTTP API docs and the SDK's own test suite, which ran against the real service), checked against the lines
 * test/fixtures/deta-sdk/contract.cjs writes, wherever it ran (on the host, or inside a micro).
 */
import assert from "node:assert/strict";
import { it } from "node:test";

export const wesley = {
  key: "fetch-key-1",
  name: "Wesley",
  user_age: 27,
  hometown: "San Francisco",
  email: "wesley@deta.sh",
};
export const beverly = {
  key: "fetch-key-2",
  name: "Beverly",
  user_age: 51,
  hometown: "Copernicus City",
  email: "beverly@deta.sh",
};
export const kevin = {
  key: "fetch-key-3",
  name: "Kevin Garnett",
  user_age: 43,
  hometown: "Greenville",
  email: "kevin@email.com",
};

/** From the SDK's fetch.spec: a query, options, and what Deta answered. */
export const FETCH_CASES: [unknown, unknown, unknown][] = [
  [{ key: "fetch-key-1" }, undefined, { count: 1, items: [wesley] }],
  [{ "key?pfx": "fetch" }, undefined, { count: 3, items: [wesley, beverly, kevin] }],
  [{ "key?>": "fetch-key-2" }, undefined, { count: 1, items: [kevin] }],
  [{ "key?<": "fetch-key-2" }, undefined, { count: 1, items: [wesley] }],
  [{ "key?>=": "fetch-key-2" }, undefined, { count: 2, items: [beverly, kevin] }],
  [{ "key?<=": "fetch-key-2" }, undefined, { count: 2, items: [wesley, beverly] }],
  [{ "key?r": ["fetch-key-1", "fetch-key-3"] }, undefined, { count: 3, items: [wesley, beverly, kevin] }],
  [
    [
      { "key?>=": "fetch-key-1", "user_age?>": 40, "user_age?<": 50 },
      { "key?>=": "fetch-key-1", "user_age?<": 40 },
    ],
    undefined,
    { count: 2, items: [wesley, kevin] },
  ],
  [[{ name: "Wesley" }, { user_age: 51 }], undefined, { count: 2, items: [wesley, beverly] }],
  [{ "user_age?lt": 30 }, undefined, { count: 1, items: [wesley] }],
  [{ user_age: 27 }, undefined, { count: 1, items: [wesley] }],
  [{ user_age: 27, name: "Wesley" }, undefined, { count: 1, items: [wesley] }],
  [{ "user_age?gt": 27 }, undefined, { count: 2, items: [beverly, kevin] }],
  [{ "user_age?lte": 43 }, undefined, { count: 2, items: [wesley, kevin] }],
  [{ "user_age?gte": 43 }, undefined, { count: 2, items: [beverly, kevin] }],
  [{ "hometown?pfx": "San" }, undefined, { count: 1, items: [wesley] }],
  [{ "user_age?r": [20, 45] }, undefined, { count: 2, items: [wesley, kevin] }],
  [{ "email?contains": "@email.com" }, undefined, { count: 1, items: [kevin] }],
  [{ "email?not_contains": "@deta.sh" }, undefined, { count: 1, items: [kevin] }],
  [{ "email?!contains": "@deta.sh" }, undefined, { count: 1, items: [kevin] }],
  [[{ "user_age?gt": 50 }, { hometown: "Greenville" }], undefined, { count: 2, items: [beverly, kevin] }],
  [{ "user_age?ne": 51 }, undefined, { count: 2, items: [wesley, kevin] }],
  [{ fetch_does_not_exist: "fetch_value_does_not_exist" }, undefined, { count: 0, items: [] }],
  [{}, undefined, { count: 3, items: [wesley, beverly, kevin] }],
  [[], undefined, { count: 3, items: [wesley, beverly, kevin] }],
  [{ name: "Wesley" }, { limit: 1 }, { count: 1, items: [wesley] }],
  [{ "user_age?ne": 51 }, { limit: 1 }, { count: 1, last: "fetch-key-1", items: [wesley] }],
  [{ "user_age?ne": 51 }, { limit: 1, last: "fetch-key-1" }, { count: 1, items: [kevin] }],
  [[{ "user_age?gt": 50 }, { hometown: "Greenville" }], { limit: 2 }, { count: 2, items: [beverly, kevin] }],
  [[], { limit: 2 }, { count: 2, last: "fetch-key-2", items: [wesley, beverly] }],
  [{}, { limit: 2 }, { count: 2, last: "fetch-key-2", items: [wesley, beverly] }],
  [{}, { limit: 3 }, { count: 3, items: [wesley, beverly, kevin] }],
  // Malformed queries: Deta's 400 "Bad query".
  ...[
    { "key?": "fetch-key-one" },
    { "key??": "fetch-key-one" },
    { "key?pfx": 12 },
    { "key?r": [] },
    { "key?r": ["fetch-key-one"] },
    { "key?r": "Hello world" },
    { "key?>": 12 },
    { "key?>=": 12 },
    { "key?<": 12 },
    { "key?<=": 12 },
    { "key?random": "fetch-key-one" },
    { "key?contains": "fetch" },
    [{ "key?<=": "fetch-key-one" }, { key: "fetch-key-one" }],
    [{ "key?<=": "fetch-key-one" }, { "key?<=": "fetch-key-two" }],
    [{ user_age: 27 }, { "key?<=": "fetch-key-two" }],
    [{ user_age: 27, key: "fetch-key-two", "key?>": "fetch-key-three" }, { "key?<=": "fetch-key-two" }],
    { "name?": "Beverly" },
    { "name??": "Beverly" },
    { "?": "Beverly" },
    { "user_age?r": [] },
    { "user_age?r": [21] },
    { "name?random": "Beverly" },
    { "name?pfx": 12 },
  ].map((query): [unknown, unknown, unknown] => [query, undefined, new Error("Bad query")]),
  [{}, { limit: 0 }, new Error("Bad query")],
];

export type Outcome = { value?: unknown; error?: string };

/** contract.cjs's output, one `{"step", "value"|"error"}` line per step, by step. */
export function parseOutcomes(text: string): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  for (const line of text.split("\n").filter(Boolean)) {
    const { step, ...outcome } = JSON.parse(line) as { step: string } & Outcome;
    outcomes.set(step, outcome);
  }
  return outcomes;
}

/**
 * Update's steps, as in the SDK's update.spec (the Python SDK takes the same): `update-user-a` after set, dotted
 * set, trim, increment(2), append and prepend of single values, then after increment() and lists appended and
 * prepended.
 */
export const UPDATED = {
  key: "update-user-a",
  username: "jimmy",
  profile: { age: 33, active: true, email: "jimmy@deta.sh" },
  likes: ["anime", "ramen"],
  dislikes: ["action", "comedy"],
  purchases: 3,
};
export const UPDATED_AGAIN = {
  ...UPDATED,
  likes: ["anime", "ramen", "momo"],
  dislikes: ["romcom", "action", "comedy"],
  purchases: 4,
};

/** Paging through items 0 to 99 without 13, seven at a time, passing `last` back: every item once, 15 pages. */
export const PAGED = {
  seen: Array.from({ length: 100 }, (_, i) => i).filter((n) => n !== 13),
  pages: [...Array(14).fill(7), 1],
};

/** What contract.cjs is given to fetch: the queries and options of FETCH_CASES, without the answers. */
export const FETCH_INPUTS = FETCH_CASES.map(([query, options]) => [query, options]);

export function outcomeOf(outcomes: Map<string, Outcome>, step: string): Outcome {
  const outcome = outcomes.get(step);
  assert.ok(outcome, `the SDK ran the step "${step}"`);
  return outcome;
}

export function value(outcomes: Map<string, Outcome>, step: string): unknown {
  const outcome = outcomeOf(outcomes, step);
  assert.equal(outcome.error, undefined, `${step} succeeded`);
  return outcome.value;
}

export function error(outcomes: Map<string, Outcome>, step: string): string | undefined {
  return outcomeOf(outcomes, step).error;
}

/**
 * The checks of one SDK's run, as `it`s of the enclosing `describe`; `outcomes` gives the run's lines once its
 * `before` has them.
 */
export function sdkContract(outcomes: () => Map<string, Outcome>): void {
  it("puts items of every kind, with the key given or generated (12 characters)", () => {
    const object = value(outcomes(), "put object") as Record<string, unknown>;
    assert.equal(object.name, "alex");
    assert.equal(object.age, 77);
    assert.match(object.key as string, /^[a-z0-9]{12}$/);
    assert.equal((value(outcomes(), "put string") as { value: unknown }).value, "hello, worlds");
    assert.equal((value(outcomes(), "put number") as { value: unknown }).value, 7);
    assert.deepEqual(value(outcomes(), "put with key in object"), { name: "alex", age: 77, key: "put_one" });
    assert.deepEqual(value(outcomes(), "put list with key"), { value: ["a", "b", "c"], key: "put_my_abc" });
    assert.deepEqual(value(outcomes(), "put key argument wins"), { world: ["a", "b", "c"], key: "put_my_abc" });
    const ttl = value(outcomes(), "put expireIn") as { item: Record<string, number>; expected: number };
    assert.ok(Math.abs((ttl.item.__expires as number) - ttl.expected) <= 2);
    assert.equal(error(outcomes(), "put both expiry options"), "can't set both expireIn and expireAt options");
  });

  it("gets items (null when missing), with any key", () => {
    assert.deepEqual(value(outcomes(), "get"), { name: "alex", age: 77, key: "put_one" });
    assert.equal(value(outcomes(), "get missing"), null);
    assert.equal(error(outcomes(), "get empty key"), "Key is empty");
    assert.deepEqual(value(outcomes(), "get odd key"), { key: "%@#//#!#)#$_", value: 0, list: ["a"] });
  });

  it("deletes items, also those that never were", () => {
    assert.equal(value(outcomes(), "delete"), null);
    assert.equal(value(outcomes(), "get deleted"), null);
    assert.equal(value(outcomes(), "delete missing"), null);
  });

  it("inserts only new keys: a second insert is Deta's conflict", () => {
    assert.deepEqual(value(outcomes(), "insert"), { name: "alex", age: 77, key: "insert-two" });
    assert.match((value(outcomes(), "insert generated key") as { key: string }).key, /^[a-z0-9]{12}$/);
    assert.equal(error(outcomes(), "insert existing"), "Item with key insert-two already exists");
    const ttl = value(outcomes(), "insert expireIn") as { item: Record<string, unknown>; expected: number };
    assert.equal(ttl.item.value, 7);
    assert.ok(Math.abs((ttl.item.__expires as number) - ttl.expected) <= 2);
  });

  it("puts many items at once, up to 25", () => {
    const many = value(outcomes(), "putMany") as { processed: { items: Record<string, unknown>[] } };
    assert.deepEqual(
      many.processed.items.map(({ key, ...rest }) => rest),
      [
        { name: "Beverly", hometown: "Copernicus City" },
        { value: "dude" },
        { value: ["Namaskāra", "marhabaan", "hello"] },
      ],
    );
    assert.deepEqual(value(outcomes(), "putMany with keys"), {
      processed: {
        items: [
          { key: "put-many-key-1", name: "Wesley", user_age: 27 },
          { key: "put-many-key-2", name: "Beverly", user_age: 51 },
        ],
      },
      failed: { items: [] },
    });
    assert.equal(error(outcomes(), "putMany too many"), "We can't put more than 25 items at a time");
    assert.equal(error(outcomes(), "putMany empty"), "Items can't be empty");
  });

  it("updates with set, increment, append, prepend and trim on dotted paths, as Deta's docs show", () => {
    const first = value(outcomes(), "update every operation") as { answer: unknown; item: unknown };
    assert.equal(first.answer, null);
    assert.deepEqual(first.item, UPDATED);
    assert.deepEqual(value(outcomes(), "update lists and default increment"), UPDATED_AGAIN);
    assert.equal(value(outcomes(), "update negative increment"), -6);
    const ttl = value(outcomes(), "update expireIn") as { expires: number; expected: number };
    assert.ok(Math.abs(ttl.expires - ttl.expected) <= 2);
  });

  it("refuses updates Deta refused: a missing key, the key itself, a missing parent, nothing at all", () => {
    assert.equal(error(outcomes(), "update missing key"), "Key not found");
    for (const step of [
      "update the key",
      "update trims the key",
      "update appends to the key",
      "update under a missing parent",
      "update nothing",
    ]) {
      assert.ok(error(outcomes(), step), `${step} is refused`);
    }
    assert.equal(error(outcomes(), "update empty key"), "Key is empty");
  });

  it("loses no increment when forty callers update the same item at once", () => {
    assert.equal(value(outcomes(), "concurrent increments"), 40);
  });

  it("never returns an item whose __expires has passed", () => {
    assert.deepEqual(value(outcomes(), "expired at once"), { stored: "expired", found: null, fetched: 0 });
  });

  it("answers every query of the SDK's fetch suite as Deta did", () => {
    FETCH_CASES.forEach(([query, options, expected], index) => {
      const outcome = outcomeOf(outcomes(), `fetch ${index}`);
      const what = `fetch(${JSON.stringify(query)}, ${JSON.stringify(options)})`;
      if (expected instanceof Error) assert.equal(outcome.error, expected.message, what);
      else assert.deepEqual(outcome.value, expected, what);
    });
    assert.deepEqual(value(outcomes(), "fetch everything"), ["fetch-key-1", "fetch-key-2", "fetch-key-3"]);
    assert.deepEqual(value(outcomes(), "fetch desc"), { count: 3, items: [kevin, beverly, wesley] });
  });

  it("pages through a query with limit and last until last is gone", () => {
    assert.deepEqual(value(outcomes(), "paging loop"), PAGED);
  });

  it("puts, gets, lists and deletes Drive files as the Drive suite expects", () => {
    assert.equal(value(outcomes(), "drive put data"), "put-data");
    assert.equal(value(outcomes(), "drive put with type"), "put-data-1");
    assert.equal(error(outcomes(), "drive put empty name"), "Name is empty");
    assert.deepEqual(value(outcomes(), "drive get"), { text: "Hello world", type: "text/plain" });
    assert.equal(value(outcomes(), "drive get guessed type"), "text/html");
    assert.equal(value(outcomes(), "drive get missing"), null);
    assert.equal(value(outcomes(), "drive overwrite"), "second");
    assert.deepEqual(value(outcomes(), "drive list"), {
      names: ["list-a", "list-b", "list-c", "list/child/a", "list/d", "page.html", "put-data", "put-data-1"],
    });
    assert.deepEqual(value(outcomes(), "drive list limit"), { paging: { size: 1, last: "list-a" }, names: ["list-a"] });
    assert.deepEqual(value(outcomes(), "drive list prefix"), {
      paging: { size: 2, last: "list-b" },
      names: ["list-a", "list-b"],
    });
    assert.deepEqual(value(outcomes(), "drive list last"), {
      paging: { size: 2, last: "list/child/a" },
      names: ["list-c", "list/child/a"],
    });
    assert.deepEqual(value(outcomes(), "drive list not recursive"), { names: ["list/child/", "list/d"] });
    assert.deepEqual(value(outcomes(), "drive deleteMany"), { deleted: ["list-a", "list-b", "list-c", "never-was"] });
    assert.deepEqual(value(outcomes(), "drive deleteMany invalid names"), {
      deleted: ["list/d"],
      failed: { "": "invalid name", "  ": "invalid name" },
    });
    assert.equal(error(outcomes(), "drive deleteMany all empty"), "Names can't be empty");
    assert.equal(value(outcomes(), "drive delete"), "put-data");
    assert.equal(value(outcomes(), "drive get deleted"), null);
  });

  it("uploads a file over 10 MB in parts and gives back the same bytes", () => {
    assert.deepEqual(value(outcomes(), "drive chunked upload"), {
      name: "big/large.bin",
      size: 10 * 1024 * 1024 + 12_345,
      same: true,
      type: "application/x-test",
    });
  });

  it("refuses a wrong project key with Deta's Unauthorized", () => {
    assert.equal(error(outcomes(), "wrong key put"), "Unauthorized");
    assert.equal(error(outcomes(), "wrong key get"), "Unauthorized");
    assert.equal(error(outcomes(), "wrong key drive"), "Unauthorized");
  });
}
