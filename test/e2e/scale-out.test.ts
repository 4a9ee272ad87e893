import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

interface Answer {
  boot: string;
  version: string;
}

// Twice the per-instance concurrency target (8): more than one instance must take them.
const CONCURRENT = 16;

describe("scale-out: a busy micro runs more instances, and each sleeps when idle", () => {
  let server: MicrosServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let host: string;
  let micro: MicroView;

  const instances = async () =>
    (await api<{ micro: MicroView }>(server, `/v1/micros/${micro.id}`)).body.micro.instances;
  const burst = () =>
    Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const res = await request(server.port, host, "/");
        assert.equal(res.status, 200, res.body);
        return JSON.parse(res.body) as Answer;
      }),
    );

  before(async () => {
    // Idle long enough that a busy machine lists the instances and runs `details` before any of them sleeps.
    server = await useServer(["--idle-timeout", "5s", "--max-instances", "4"]);
    dir = await copyApp("cpu-bound", "scale-out");
    env = loggedIn(server, await useTmpDir());
    host = `scale-out.localhost:${server.port}`;
    const result = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    micro = JSON.parse(result.stdout) as MicroView;
  });

  it("concurrent CPU-bound requests are served by more than one instance, each listed in the details", async () => {
    const boots = new Set((await burst()).map((answer) => answer.boot));
    assert.ok(boots.size > 1, `${CONCURRENT} concurrent requests were served by ${boots.size} instance(s)`);
    const listed = await instances();
    assert.equal(listed.length, boots.size, "every instance that served is listed");
    for (const instance of listed) assert.equal(instance.state, "ready");
    const details = await cli(["details"], { cwd: dir, env });
    for (const instance of listed) assert.ok(details.stdout.includes(instance.id), `details shows ${instance.id}`);
  });

  it("after the idle timeout every instance has stopped", async () => {
    await waitFor("every instance to stop", async () => ((await instances()).length === 0 ? true : undefined));
    const logs = await cli(["logs"], { cwd: dir, env });
    assert.match(logs.stdout, /\[micros\] starting another instance: each of its 1 has 8 requests in flight/);
  });

  it("a new release drains every instance of the old one", async () => {
    const old = new Set((await burst()).map((answer) => answer.boot));
    assert.ok(old.size > 1);
    const source = await readFile(join(dir, "index.js"), "utf8");
    await writeFile(join(dir, "index.js"), source.replace('const version = "one"', 'const version = "two"'));
    const result = await cli(["deploy"], { cwd: dir, env });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse((await request(server.port, host, "/")).body) as Answer;
    assert.equal(answer.version, "two");
    assert.ok(!old.has(answer.boot));
    await waitFor("the old release's instances to stop", async () =>
      (await instances()).every((instance) => instance.release === "v2") ? true : undefined,
    );
  });
});
