import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("`micros run`: the app's actions, invoked directly", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let node: string;
  let python: string;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    node = await copyApp("actions-node", "actions-node");
    python = await copyApp("actions-python", "actions-python");
    for (const dir of [node, python]) assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
  });

  it("returns the handler's value, with its arguments made JSON and its logs on request", async () => {
    const result = await cli(["run", "greet", "--logs", "--", "--name", "ada", "--tag", "a", "--tag", "b"], {
      cwd: node,
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Logs:\n {2}greeting ada\nResult:\n/);
    assert.deepEqual(JSON.parse(result.stdout.slice(result.stdout.indexOf("Result:") + 8)), {
      hello: "ada",
      tags: ["a", "b"],
    });
    assert.deepEqual(JSON.parse((await cli(["run"], { cwd: node, env })).stdout), { default: true });
  });

  it("works the same for a Python app", async () => {
    const result = await cli(["run", "greet", "--", "--name", "grace"], { cwd: python, env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { hello: "grace" });
  });

  it("names a missing action and reports a failing one", async () => {
    const missing = await cli(["run", "nope"], { cwd: node, env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no run handler for action "nope"\. Register one with micros\.run\("nope", handler\)/);
    const failing = await cli(["run", "fail"], { cwd: node, env });
    assert.match(failing.stderr, /The run handler failed: Error: the action broke/);
  });

  it("the event path cannot be reached from outside", async () => {
    const res = await request(server.port, `actions-node.localhost:${server.port}`, "/__micros/event", {
      method: "POST",
      body: JSON.stringify({ type: "run", action: "greet", body: { name: "mallory" } }),
    });
    assert.equal(res.status, 404);
    assert.match(JSON.parse(res.body).error.message, /reserved for the platform/);
  });

  it("`cron set` schedules the micro, `cron trigger` runs its handler, and the runs are in the logs", async () => {
    const invalid = await cli(["cron", "set", "5 seconds"], { cwd: node, env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /"5 seconds" is not a schedule: a rate is a whole number and minute\(s\)/);

    const set = await cli(["cron", "set", "1 minute"], { cwd: node, env });
    assert.equal(set.code, 0, set.stderr);
    const next = /next run at (\S+)\./.exec(set.stdout)?.[1] ?? "";
    const inAMinute = Date.parse(next) - Date.now();
    assert.ok(inAMinute > 0 && inAMinute <= 60_000, `next run ${next}`);
    assert.match((await cli(["details"], { cwd: node, env })).stdout, /cron: +"1 minute" \(UTC\), next run at /);

    const triggered = await cli(["cron", "trigger"], { cwd: node, env });
    assert.equal(triggered.code, 0, triggered.stderr);
    assert.equal(JSON.parse(triggered.stdout).ok, true);
    const logs = (await cli(["logs"], { cwd: node, env })).stdout;
    assert.match(logs, /cron run started \(schedule "1 minute"\)/);
    assert.match(logs, /cron fired for "1 minute"/);
    assert.match(logs, /cron run finished in \d+ ms/);

    assert.equal((await cli(["cron", "remove"], { cwd: node, env })).code, 0);
    assert.doesNotMatch((await cli(["details"], { cwd: node, env })).stdout, /cron:/);
  });
});
