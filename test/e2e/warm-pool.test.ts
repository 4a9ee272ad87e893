import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, copyApp, loggedIn, request, useServer, useTmpDir } from "../helpers/micros.js";

/** Deploys the boot-id fixture under `name`, asks it once, and returns what `micros logs` says of its start. */
async function firstStart(flags: string[], name: string): Promise<string> {
  const server = await useServer(flags);
  const env = loggedIn(server, await useTmpDir());
  const dir = await copyApp("boot-id", name);
  assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
  assert.equal((await request(server.port, `${name}.localhost:${server.port}`)).status, 200);
  const logs = await cli(["logs"], { cwd: dir, env });
  const started = logs.stdout.split("\n").find((line) => line.includes("started in"));
  assert.ok(started, logs.stdout);
  return started;
}

describe("sandboxes prepared ahead of need", () => {
  it("a micro's first request is served from a sandbox that was ready before it came", async () => {
    assert.match(await firstStart([], "pooled"), /started in \d+ ms \(in a sandbox prepared ahead\)/);
  });

  it("with --warm-pool 0 each sandbox is made on demand", async () => {
    const line = await firstStart(["--warm-pool", "0"], "unpooled");
    assert.match(line, /started in \d+ ms$/);
  });
});
