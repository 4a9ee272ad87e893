import assert from "node:assert/strict";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  beverly,
  FETCH_CASES,
  FETCH_INPUTS,
  kevin,
  type Outcome,
  PAGED,
  parseOutcomes,
  sdkContract,
  UPDATED,
  UPDATED_AGAIN,
  wesley,
} from "../helpers/deta-sdk-contract.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  ROOT,
  request,
  useServer,
  useTmpDir,
} from "../helpers/micros.js";

/** What the Python fixture adds to an outcome: the exception's class, and an HTTPError's status. */
type PythonOutcome = Outcome & { type?: string; status?: number };

// More than one instance's worth of requests (one each, below), so two instances must share them.
const INCREMENTS = 30;

/**
 * Deta's SDKs as a micro runs them, with no setting: the JavaScript SDK (1.2.0 and 2.0.0, unmodified) through the
 * same steps and expectations as test/contract/deta-sdk.test.ts, Deta's Python SDK API through the built-in library,
 * and increments from two instances of one micro at once. One instance takes one request at a time, at most two per
 * micro, so a burst of requests is shared by two.
 */
describe("Deta's SDKs inside a micro: the whole contract, against the platform's Base and Drive", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  const host = (name: string) => `${name}.localhost:${server.port}`;

  /** Runs a fixture's contract: POSTs the fetch cases and reads the lines it streams back. */
  const contractIn = async (micro: string, path: string): Promise<Map<string, PythonOutcome>> => {
    const res = await request(server.port, host(micro), path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(FETCH_INPUTS),
    });
    assert.equal(res.status, 200, res.body);
    return parseOutcomes(res.body);
  };

  before(async () => {
    server = await useServer(["--instance-concurrency", "1", "--max-instances", "2"]);
    env = loggedIn(server, await useTmpDir());
    const node = await copyApp("deta-in-micro/sdk-contract", "sdk-contract");
    // The very script the host's contract test runs: the app requires it.
    await copyFile(join(ROOT, "test", "fixtures", "deta-sdk", "contract.cjs"), join(node, "contract.cjs"));
    const python = await copyApp("deta-in-micro/python-contract", "py-contract");
    for (const dir of [node, python]) {
      const created = await cli(["new"], { cwd: dir, env });
      assert.equal(created.code, 0, created.stderr);
    }
  });

  for (const sdk of ["deta1", "deta2"]) {
    describe(`Deta's JavaScript SDK ${sdk === "deta1" ? "1.2.0" : "2.0.0"}, unmodified, at database.deta.sh and drive.deta.sh`, () => {
      let outcomes: Map<string, Outcome>;
      before(async () => {
        outcomes = await contractIn("sdk-contract", `/contract?sdk=${sdk}`);
      });

      sdkContract(() => outcomes);

      it("stores nothing for a wrong project key", async () => {
        const { body } = await api<{ key: string }>(server, "/v1/projects/default/key");
        const project = body.key.split("_")[0];
        const read = (path: string) =>
          fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { "x-api-key": body.key } });
        assert.equal((await read(`/base/v1/${project}/contract-${sdk}/items/intruder`)).status, 404);
        assert.equal((await read(`/drive/v1/${project}/contract-${sdk}/files/download?name=intruder`)).status, 404);
        // The same reads find what the right key stored.
        assert.equal((await read(`/base/v1/${project}/contract-${sdk}/items/put_my_abc`)).status, 200);
      });
    });
  }

  describe("Deta's Python SDK API, through the built-in library", () => {
    let outcomes: Map<string, PythonOutcome>;
    const value = (step: string): unknown => {
      const outcome = outcomes.get(step);
      assert.ok(outcome, `the app ran the step "${step}"`);
      assert.equal(outcome.error, undefined, `${step} succeeded`);
      return outcome.value;
    };
    const failure = (step: string) => {
      const outcome = outcomes.get(step);
      assert.ok(outcome, `the app ran the step "${step}"`);
      const { error, type, status } = outcome;
      return { error, type, status };
    };
    const about = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) <= 2, `${actual}`);

    before(async () => {
      outcomes = await contractIn("py-contract", "/");
    });

    it("puts, gets, inserts and deletes items; a second insert is Deta's HTTPError 409", () => {
      const object = value("put object") as Record<string, unknown>;
      assert.deepEqual([object.name, object.age], ["alex", 77]);
      assert.match(object.key as string, /^[a-z0-9]{12}$/);
      assert.equal((value("put string") as { value: unknown }).value, "hello, worlds");
      assert.deepEqual(value("put with key in object"), { name: "alex", age: 77, key: "put_one" });
      assert.deepEqual(value("put key argument wins"), { world: ["a", "b", "c"], key: "put_my_abc" });
      assert.deepEqual(value("get"), { name: "alex", age: 77, key: "put_one" });
      assert.equal(value("get missing"), null);
      assert.deepEqual(failure("get empty key"), { error: "Key is empty", type: "ValueError", status: undefined });
      assert.deepEqual(value("get odd key"), { key: "%@#//#!#)#$_", value: 0 });
      assert.equal(value("delete"), null);
      assert.equal(value("get deleted"), null);
      assert.equal(value("delete missing"), null);
      assert.deepEqual(value("insert"), { name: "alex", age: 77, key: "insert-two" });
      assert.deepEqual(failure("insert existing"), {
        error: "HTTP Error 409: Item with key 'insert-two' already exists",
        type: "HTTPError",
        status: 409,
      });
    });

    it("puts many items, up to 25", () => {
      const many = value("put_many") as { processed: { items: Record<string, unknown>[] }; failed: unknown };
      assert.deepEqual(many.processed.items[0], { key: "many-1", name: "Wesley" });
      assert.deepEqual(
        many.processed.items.slice(1).map(({ key, ...rest }) => rest),
        [{ value: "dude" }, { value: ["a", "b"] }],
      );
      assert.deepEqual(failure("put_many too many"), {
        error: "We can't put more than 25 items at a time.",
        type: "AssertionError",
        status: undefined,
      });
    });

    it("sets expire_in and expire_at as Deta did, never both, and never returns an expired item", () => {
      for (const step of ["put expire_in", "put expire_at", "insert expire_in"]) {
        const { item, expected } = value(step) as { item: { __expires: number }; expected: number };
        about(item.__expires, expected);
      }
      for (const offset of value("put_many expire_in") as number[]) about(offset, 0);
      about(value("update expire_in") as number, 0);
      assert.deepEqual(failure("put both expiry options"), {
        error: "both expire_in and expire_at provided",
        type: "ValueError",
        status: undefined,
      });
      assert.deepEqual(value("expired at once"), { stored: "expired", found: null, fetched: 0 });
    });

    it("updates with set, increment, append, prepend and trim on dotted paths, as the JavaScript SDK does", () => {
      const first = value("update every operation") as { answer: unknown; item: unknown };
      assert.equal(first.answer, null);
      assert.deepEqual(first.item, UPDATED);
      assert.deepEqual(value("update lists and default increment"), UPDATED_AGAIN);
      assert.equal(value("update negative increment"), -6);
      assert.deepEqual(failure("update missing key"), {
        error: "Key 'doesNotExist' not found",
        type: "Exception",
        status: undefined,
      });
      for (const step of ["update the key", "update under a missing parent"]) {
        assert.deepEqual([failure(step).type, failure(step).status], ["HTTPError", 400], step);
      }
      assert.equal(value("concurrent increments"), 20);
    });

    it("answers every query of the SDK's fetch suite as Deta did, and pages with limit and last", () => {
      FETCH_CASES.forEach(([query, options, expected], index) => {
        const what = `fetch(${JSON.stringify(query)}, ${JSON.stringify(options)})`;
        if (expected instanceof Error) {
          assert.deepEqual(
            failure(`fetch ${index}`),
            { error: `HTTP Error 400: ${expected.message}`, type: "HTTPError", status: 400 },
            what,
          );
        } else assert.deepEqual(value(`fetch ${index}`), expected, what);
      });
      assert.deepEqual(value("fetch desc"), { count: 3, items: [kevin, beverly, wesley] });
      assert.deepEqual(value("paging loop"), PAGED);
    });

    it("puts, gets, lists and deletes Drive files; get reads, iterates chunks and lines, and keeps JSON bytes", () => {
      assert.equal(value("drive put text"), "put-data");
      assert.equal(value("drive put with type"), "put-data-1");
      assert.equal(failure("drive put empty name").type, "AssertionError");
      assert.deepEqual(value("drive put path"), ["from-path", "from a path"]);
      assert.equal(value("drive get"), "Hello world");
      assert.deepEqual(value("drive get iter_chunks"), ["Hell", "o wo", "rld"]);
      assert.deepEqual(value("drive get iter_lines"), ["one\n", "two\n"]);
      assert.equal(value("drive get json"), '{"b":  1,"a":2}');
      assert.equal(value("drive get missing"), null);
      assert.deepEqual(value("drive list"), {
        names: [
          "a.json",
          "from-path",
          "lines.txt",
          "list-a",
          "list-b",
          "list-c",
          "list/child/a",
          "list/d",
          "put-data",
          "put-data-1",
        ],
      });
      assert.deepEqual(value("drive list limit"), { paging: { size: 1, last: "a.json" }, names: ["a.json"] });
      assert.deepEqual(value("drive list prefix"), {
        paging: { size: 2, last: "list-b" },
        names: ["list-a", "list-b"],
      });
      assert.deepEqual(value("drive list last"), {
        paging: { size: 2, last: "list/child/a" },
        names: ["list-c", "list/child/a"],
      });
      assert.deepEqual(value("drive delete_many"), { deleted: ["list-a", "list-b", "list-c", "never-was"] });
      assert.equal(value("drive delete"), "put-data");
      assert.equal(value("drive get deleted"), null);
    });

    it("puts a file over 10 MB in parts (Drive takes at most 10 MB in one request) and gets the same bytes", () => {
      assert.deepEqual(value("drive chunked upload"), {
        name: "big/large.bin",
        size: 10 * 1024 * 1024 + 12_345,
        same: true,
      });
    });
  });

  it("loses no increment when two instances of one micro increment the same item at once", async () => {
    const counter = (method: string) => request(server.port, host("sdk-contract"), "/counter", { method });
    assert.equal((await counter("PUT")).status, 200);
    const answers = await Promise.all(Array.from({ length: INCREMENTS }, () => counter("POST")));
    const instances = new Set(
      answers.map((res) => {
        assert.equal(res.status, 200, res.body);
        return (JSON.parse(res.body) as { instance: string }).instance;
      }),
    );
    assert.ok(instances.size >= 2, `${INCREMENTS} increments were served by ${instances.size} instance(s)`);
    const final = JSON.parse((await counter("GET")).body) as { item: { count: number } };
    assert.equal(final.item.count, INCREMENTS);
  });
});
