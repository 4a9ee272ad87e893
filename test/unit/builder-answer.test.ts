/**
 * A build step's answer comes on fd 3 from a process that shares its sandbox with packages' install scripts, so it
 * is input like any other: a step that ends without one, with one that is not the protocol's, with one over the cap,
 * or that claims success and exits non-zero, fails with its own error and never counts as done. Real child
 * processes stand in for the builder; no sandbox is needed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import type { BuildJob } from "../../runtimes/build/protocol.mjs";
import { runBuilder, type StepResult, stepOutcome } from "../../src/server/builds/builder-step.js";
import { MicrosError } from "../../src/shared/errors.js";

/** Runs `script` as the builder would be run (the job on stdin, fd 3 for the answer) and judges how it ended. */
async function step(which: BuildJob["step"], script: string): Promise<{ result?: StepResult; error?: MicrosError }> {
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "pipe", "pipe"] });
  const end = await runBuilder(child, { step: which } as BuildJob, {
    timeLeftMs: 30_000,
    signal: new AbortController().signal,
    kill: () => child.kill("SIGKILL"),
  });
  return stepOutcome(which, end, 30_000, async () => undefined).then(
    (result) => ({ result }),
    (err: unknown) => {
      assert.ok(err instanceof MicrosError, String(err));
      return { error: err };
    },
  );
}

const answer = (text: string) => `require("node:fs").writeSync(3, ${JSON.stringify(text)});`;

describe("a build step's answer on fd 3", () => {
  it("is taken when it is the protocol's and the step exits 0", async () => {
    const { result } = await step("install", answer('{"ok":true,"installed":"npm ci"}'));
    assert.deepEqual(result, { ok: true, installed: "npm ci" });
  });

  it("missing: an install fails with its output, an unpack as a bad archive", async () => {
    const install = await step("install", `console.log("npm printed this"); process.exit(0);`);
    assert.equal(install.error?.code, "ERR_DEPENDENCY_INSTALL_FAILED");
    assert.match(install.error?.message ?? "", /ended without an answer \(exit code 0\)/);
    assert.match(String(install.error?.details?.output), /npm printed this/);
    const unpack = await step("unpack", "process.exit(3);");
    assert.equal(unpack.error?.code, "ERR_BAD_ARCHIVE");
  });

  it("forged by an install script: success claimed with a non-zero exit, unknown fields, a code of its own", async () => {
    for (const forged of [
      '{"ok":true,"installed":"npm ci"}',
      '{"ok":true,"installed":"npm ci","hostPath":"/etc"}',
      '{"ok":false,"code":"ERR_INTERNAL","message":"x"}',
      "not json",
    ]) {
      const { error } = await step("install", `${answer(forged)} process.exit(1);`);
      assert.equal(error?.code, "ERR_DEPENDENCY_INSTALL_FAILED", forged);
    }
    // Exit 0 does not make a malformed answer good.
    const unknownField = await step("install", answer('{"ok":true,"installed":"rm -rf /"}'));
    assert.equal(unknownField.error?.code, "ERR_DEPENDENCY_INSTALL_FAILED");
  });

  it("over its size cap is no answer, however it starts", async () => {
    const big = `{"ok":true,"installed":"npm ci","pad":"${"x".repeat(100 * 1024)}"}`;
    const { error } = await step("install", answer(big));
    assert.equal(error?.code, "ERR_DEPENDENCY_INSTALL_FAILED");
  });
});
