/**
 * The contract: Deta's own JavaScript SDK, unmodified (1.2.0, 2.0.0, and the 0.0.9 of the legacy URL shape), and the
 * platform's built-in `deta` library for Node (built into dist/), run in a child process against the Base and Drive
 * services over HTTPS, with DETA_BASE_HOST and DETA_DRIVE_HOST pointing at them. The expected values are Deta's documented answers (test/helpers/deta-sdk-contract.ts, which
 * test/e2e/deta-sdk-in-micros.test.ts checks inside a micro too). On each store: SQLite, and PostgreSQL when
 * MICROS_TEST_DATABASE_URL names a server.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { type DataServiceUnderTest, useDataService } from "../helpers/data-service.js";
import { error, FETCH_INPUTS, type Outcome, parseOutcomes, sdkContract, value } from "../helpers/deta-sdk-contract.js";
import { ROOT } from "../helpers/micros.js";
import { STORE_KINDS } from "../helpers/store.js";

const SCRIPT = join(ROOT, "test", "fixtures", "deta-sdk");

async function runSdk(
  service: DataServiceUnderTest,
  script: string,
  sdk: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Map<string, Outcome>> {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(SCRIPT, script)],
      {
        cwd: ROOT,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH,
          SDK_PACKAGE: sdk,
          NODE_EXTRA_CA_CERTS: service.caFile,
          DETA_BASE_HOST: service.host,
          DETA_DRIVE_HOST: service.host,
          DETA_PROJECT_KEY: service.key,
          RUN_ID: sdk,
          FETCH_CASES: JSON.stringify(FETCH_INPUTS),
          ...env,
        },
      },
      (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout: out })),
    );
  });
  return parseOutcomes(stdout);
}

// The built-in library stands in for Deta's SDK 1.x in every micro that does not ship its own: the same contract.
const BUILTIN = join(ROOT, "dist", "runtimes", "node", "deta", "index.cjs");

for (const { kind, name, skip } of STORE_KINDS) {
  for (const [sdk, what] of [
    ["deta1", "Deta's JavaScript SDK (1.2.0)"],
    ["deta2", "Deta's JavaScript SDK (2.0.0)"],
    ["builtin", "The built-in deta library for Node"],
  ] as const) {
    describe(`${what} against Base and Drive on ${name}`, { skip }, () => {
      let service: DataServiceUnderTest;
      let outcomes: Map<string, Outcome>;
      before(async () => {
        service = await useDataService(kind);
        outcomes = await runSdk(service, "contract.cjs", sdk, sdk === "builtin" ? { SDK_PACKAGE: BUILTIN } : {});
      });

      sdkContract(() => outcomes);

      it("stores nothing for a wrong project key", async () => {
        assert.equal(await service.service.bases.get(service.projectId, `contract-${sdk}`, "intruder"), undefined);
        assert.equal(await service.service.drives.get(service.projectId, `contract-${sdk}`, "intruder"), undefined);
      });
    });
  }

  describe(`Deta's legacy JavaScript SDK (0.0.9) on the URL shape without /v1, on ${name}`, { skip }, () => {
    let outcomes: Map<string, Outcome>;
    before(async () => {
      const service = await useDataService(kind);
      // This SDK's DETA_BASE_HOST includes the path: https://<host>/<project>/<base>.
      outcomes = await runSdk(service, "legacy.cjs", "deta0");
    });

    it("puts, gets, updates, queries and deletes items, and stores and reads files", () => {
      assert.deepEqual(value(outcomes, "put"), { key: "a", n: 1 });
      assert.deepEqual(value(outcomes, "get"), { key: "a", n: 2, tags: ["x"] });
      assert.equal(error(outcomes, "insert existing"), "Item with key a already exists");
      assert.deepEqual(value(outcomes, "fetch"), [["a", "b"], ["c"]]);
      assert.equal(value(outcomes, "get deleted"), null);
      assert.equal(value(outcomes, "drive put"), "notes.txt");
      assert.equal(value(outcomes, "drive get"), "hello");
      assert.deepEqual(value(outcomes, "drive list"), { names: ["notes.txt"] });
    });
  });
}
