/**
 * A moment's trouble between the server and the registry (a failed name lookup, a refused connection) must not fail
 * a deploy: the builder's npm step runs again, at most three times in all, and only for those failures. The real
 * builder runs here with the real npm against registries on this machine's loopback; no sandbox is needed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { InstallJob } from "../../runtimes/build/protocol.mjs";
import { ROOT, useTmpDir } from "../helpers/micros.js";

/** Runs the builder's install step on an app whose .npmrc names `registry`; resolves with its answer and stderr. */
async function installWith(registry: string): Promise<{ answer: { ok: boolean; code?: string }; stderr: string }> {
  const dir = await useTmpDir();
  const app = join(dir, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", dependencies: { "left-pad": "1.3.0" } }));
  // npm's own retries would only make the test slower; the builder's are what is under test.
  await writeFile(join(app, ".npmrc"), `registry=${registry}\nfetch-retries=0\n`);
  const job: InstallJob = { step: "install", language: "node", app, cache: join(dir, "cache"), python: null };
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "runtimes", "build", "builder.mts")], {
    stdio: ["pipe", "ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let answer = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  child.stdio[3]?.on("data", (chunk: Buffer) => {
    answer += chunk;
  });
  child.stdin?.end(JSON.stringify(job));
  await new Promise((resolve) => child.once("close", resolve));
  return { answer: JSON.parse(answer), stderr };
}

describe("the builder's npm install", () => {
  it("tries again when the registry refuses the connection, three times in all, then fails with npm's output", async () => {
    // Nothing listens on the discard port of this machine's loopback.
    const { answer, stderr } = await installWith("http://127.0.0.1:9/");
    assert.equal(answer.ok, false);
    assert.equal(answer.code, "ERR_DEPENDENCY_INSTALL_FAILED");
    assert.match(stderr, /npm install met ECONNREFUSED reaching the registry; trying again \(2 of 3\)/);
    assert.match(stderr, /trying again \(3 of 3\)/);
    assert.doesNotMatch(stderr, /4 of 3/);
    assert.equal(stderr.match(/^npm error code ECONNREFUSED$/gm)?.length, 3);
  });

  it("does not try again when the registry answers: a missing package is not a moment's trouble", async () => {
    const registry = createServer((_req, res) => res.writeHead(404, { "content-type": "application/json" }).end("{}"));
    after(() => registry.close());
    await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
    const { port } = registry.address() as AddressInfo;
    const { answer, stderr } = await installWith(`http://127.0.0.1:${port}/`);
    assert.equal(answer.code, "ERR_DEPENDENCY_INSTALL_FAILED");
    assert.match(stderr, /^npm error code E404$/m);
    assert.doesNotMatch(stderr, /trying again/);
  });
});
