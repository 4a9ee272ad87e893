/**
 * Which environment variable names an app may set (`micros update -e`, `PUT /v1/micros/:id/env`): only the names the
 * platform sets are refused, and the whole MICROS_ prefix, kept for the platform. Deta's other names (a Base host,
 * a Base name) are the app's, as they were on Deta.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEnvFile } from "../../src/cli/env-file.js";
import { instanceEnvironment } from "../../src/server/instances/environment.js";
import type { Micro } from "../../src/server/store/micros.js";
import { envKeyProblem, replaceEnvBody } from "../../src/shared/api.js";
import { MicrosError } from "../../src/shared/errors.js";

describe("reserved environment variable names", () => {
  it("lets an app set the DETA_ names the platform does not set (DETA_BASE_HOST, DETA_DRIVE_HOST, ...)", () => {
    const vars = { DETA_BASE_HOST: "base.example.com", DETA_DRIVE_HOST: "drive.example.com", DETA_BASE_NAME: "users" };
    for (const key of Object.keys(vars)) assert.equal(envKeyProblem(key), undefined, key);
    assert.deepEqual(
      parseEnvFile(
        "DETA_BASE_HOST=base.example.com\nDETA_DRIVE_HOST=drive.example.com\nDETA_BASE_NAME=users\n",
        ".env",
      ),
      vars,
    );
    assert.equal(replaceEnvBody.safeParse({ vars }).success, true);
  });

  it("refuses the DETA_ names the platform sets, saying so", () => {
    for (const key of ["DETA_PROJECT_KEY", "DETA_PATH", "DETA_RUNTIME"]) {
      assert.match(envKeyProblem(key) ?? "", new RegExp(`^is reserved: the platform sets ${key} in every instance`));
    }
    assert.throws(
      () => parseEnvFile("OK=1\nDETA_RUNTIME=false\n", ".env"),
      (err: unknown) =>
        err instanceof MicrosError && /\.env, line 2: DETA_RUNTIME is reserved: the platform sets/.test(err.message),
    );
  });

  it("keeps the whole MICROS_ prefix for the platform, set today or not", () => {
    for (const key of ["MICROS_PROJECT_KEY", "MICROS_SOMETHING_LATER", "micros_lower"]) {
      assert.match(envKeyProblem(key) ?? "", /^is reserved: names starting with MICROS_ are kept for the platform/);
    }
    assert.equal(replaceEnvBody.safeParse({ vars: { MICROS_FUTURE: "x" } }).success, false);
  });

  it("refuses every name whose value the platform sets over the app's (one added there must be reserved here)", () => {
    const micro = { id: "m1", name: "hello", runtime: "nodejs20", subdomain: "abc123" } as Micro;
    for (const key of Object.keys(instanceEnvironment(micro, {}, "project-key"))) {
      const appWins = instanceEnvironment(micro, { [key]: "the app's" }, "project-key")[key] === "the app's";
      if (!appWins)
        assert.notEqual(envKeyProblem(key), undefined, `the platform overrides ${key}, yet an app may set it`);
    }
  });
});
