/**
 * The built-in `deta` library (runtimes/node/deta, runtimes/python/lib/deta), run in a child process as an app gets
 * it, against the Base and Drive services over HTTPS with DETA_BASE_HOST and DETA_DRIVE_HOST pointing at them, on
 * each store (PostgreSQL when MICROS_TEST_DATABASE_URL names a server).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { type DataServiceUnderTest, useDataService } from "../helpers/data-service.js";
import { ROOT } from "../helpers/micros.js";
import { STORE_KINDS } from "../helpers/store.js";

type Outcome = { value?: unknown; error?: string };

async function run(service: DataServiceUnderTest, command: string, script: string): Promise<Map<string, Outcome>> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      command,
      [join(ROOT, "test", "fixtures", "deta-apps", script)],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          NODE_EXTRA_CA_CERTS: service.caFile,
          SSL_CERT_FILE: service.caFile,
          DETA_BASE_HOST: service.host,
          DETA_DRIVE_HOST: service.host,
          DETA_PROJECT_KEY: service.key,
        },
      },
      (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out)),
    );
  });
  const outcomes = new Map<string, Outcome>();
  for (const line of stdout.split("\n").filter(Boolean)) {
    const { step, ...outcome } = JSON.parse(line) as { step: string } & Outcome;
    outcomes.set(step, outcome);
  }
  return outcomes;
}

for (const { kind, name, skip } of STORE_KINDS) {
  describe(`the built-in deta library on ${name}`, { skip }, () => {
    let service: DataServiceUnderTest;
    before(async () => {
      service = await useDataService(kind);
    });

    it("Node: Base, Drive and App as Deta's SDK 1.x had them; Deta's npm package finds its App; import works too", async () => {
      const out = await run(service, process.execPath, "library.mjs");
      assert.deepEqual(out.get("put"), { value: { key: "ada", name: "ada", age: 36 } });
      assert.deepEqual(out.get("put value"), { value: { key: "v", value: "plain" } });
      assert.deepEqual(out.get("get"), { value: { key: "ada", name: "ada", age: 36 } });
      assert.deepEqual(out.get("get missing"), { value: null });
      assert.deepEqual(out.get("insert existing"), { error: "Item with key ada already exists" });
      assert.deepEqual(out.get("insert"), { value: { key: "grace", name: "grace", age: 45 } });
      assert.deepEqual(out.get("update"), { value: { key: "ada", age: 38, tags: ["x"] } });
      assert.deepEqual(out.get("putMany"), { value: 3 });
      assert.deepEqual(out.get("fetch pages"), { value: [["p1", "p2"], ["p3"]] });
      assert.deepEqual(out.get("delete"), { value: null });
      assert.deepEqual(out.get("drive put"), { value: "a/hello.txt" });
      assert.deepEqual(out.get("drive get"), { value: "hello drive" });
      assert.deepEqual(out.get("drive get missing"), { value: null });
      assert.deepEqual(out.get("drive list"), { value: { names: ["a/hello.txt"] } });
      assert.deepEqual(out.get("drive delete"), { value: "a/hello.txt" });
      assert.deepEqual(out.get("drive deleteMany"), { value: { deleted: ["x", "y"] } });
      assert.deepEqual(out.get("App"), { value: { lib: "object", registered: ["cron", "run greet", "run old"] } });
      assert.deepEqual(out.get("import"), { value: "function" });
      assert.deepEqual(out.get("npm deta App"), { value: "function" });
    });

    it("Python: Base, Drive and App as Deta's Python SDK had them", async () => {
      const out = await run(service, "python3", "library.py");
      assert.deepEqual(out.get("put"), { value: { key: "ada", name: "ada", age: 36 } });
      assert.deepEqual(out.get("get"), { value: { key: "ada", name: "ada", age: 36 } });
      assert.deepEqual(out.get("get missing"), { value: null });
      // Deta's SDK raised urllib.error.HTTPError (code 409) here; its message is Deta's own.
      assert.deepEqual(out.get("insert existing"), { error: "HTTP Error 409: Item with key 'ada' already exists" });
      assert.deepEqual(out.get("update"), { value: { key: "ada", age: 38 } });
      assert.deepEqual(out.get("update missing"), { error: "Key 'nobody' not found" });
      assert.deepEqual(out.get("put both expiry options"), { error: "both expire_in and expire_at provided" });
      assert.deepEqual(out.get("put_many"), { value: 3 });
      assert.deepEqual(out.get("fetch pages"), { value: [["p1", "p2"], ["p3"]] });
      assert.deepEqual(out.get("delete"), { value: null });
      assert.deepEqual(out.get("drive put"), { value: "a/hello.txt" });
      assert.deepEqual(out.get("drive get"), { value: "hello drive" });
      assert.deepEqual(out.get("drive get missing"), { value: null });
      // A JSON file's bytes, not the library's reading of them; Deta's DriveStreamingBody reads in chunks too.
      assert.deepEqual(out.get("drive get json"), { value: '{"b":  1,"a":2}' });
      assert.deepEqual(out.get("drive get iter_chunks"), { value: ["hello ", "drive"] });
      assert.deepEqual(out.get("drive list"), { value: { names: ["a/hello.txt"] } });
      assert.deepEqual(out.get("drive delete"), { value: "a/hello.txt" });
      assert.deepEqual(out.get("App"), { value: "_Lib" });
    });
  });
}
