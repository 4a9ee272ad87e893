import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

/**
 * Apps written for Deta deploy unmodified: the `deta` library they never listed (Deta pre-installed it) is there,
 * `App(app).lib.cron/run` handlers answer `micros cron trigger` and `micros run`, the exported app is served even when
 * a helper server listened first, and a leaked rejection is logged without ending the instance.
 */
describe("apps written for Deta", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let node: string;
  let python: string;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    node = await copyApp("deta-apps/express", "deta-express");
    python = await copyApp("deta-apps/flask", "deta-flask");
    for (const dir of [node, python]) {
      const created = await cli(["new"], { cwd: dir, env });
      assert.equal(created.code, 0, created.stderr);
    }
  });

  const host = (name: string) => `${name}.localhost:${server.port}`;

  it("serves the exported app, not the helper server that listened first; the helper keeps its own port", async () => {
    const hello = await request(server.port, host("deta-express"), "/hello");
    assert.equal(hello.status, 200, hello.body);
    assert.equal(hello.body, "hello from the exported app");
    const helper = await request(server.port, host("deta-express"), "/helper");
    assert.equal(helper.body, "the helper on 5000");
    const logs = (await cli(["logs"], { cwd: node, env })).stdout;
    assert.match(logs, /Serving the app index\.js exports; the server it started itself keeps its own port/);
  });

  it("logs an unhandled rejection with its stack and keeps serving", async () => {
    const leak = await request(server.port, host("deta-express"), "/leak");
    assert.equal(leak.status, 200, leak.body);
    const logs = await waitFor("the rejection in the logs", async () => {
      const out = (await cli(["logs"], { cwd: node, env })).stdout;
      return /a rejection nobody handled/.test(out) ? out : undefined;
    });
    assert.match(logs, /Unhandled promise rejection \(the instance keeps running\)/);
    assert.match(logs, /index\.js:\d+/);
    const after = await request(server.port, host("deta-express"), "/hello");
    assert.equal(after.body, "hello from the exported app");
  });

  it("runs `app.lib.cron` on `micros cron trigger` and `app.lib.run` actions with Deta's event", async () => {
    assert.equal((await cli(["cron", "set", "1 minute"], { cwd: node, env })).code, 0);
    const triggered = await cli(["cron", "trigger"], { cwd: node, env });
    assert.equal(triggered.code, 0, triggered.stderr);
    assert.match((await cli(["logs"], { cwd: node, env })).stdout, /deta cron handler ran: cron/);
    assert.equal((await cli(["cron", "remove"], { cwd: node, env })).code, 0);
    const run = await cli(["run", "greet", "--", "--name", "ada"], { cwd: node, env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { hello: "ada" });
  });

  it("reaches the platform's Base at Deta's own host, from Node and Python, with no setting", async () => {
    const node = await request(server.port, host("deta-express"), "/base");
    assert.equal(node.status, 200, node.body);
    assert.deepEqual(JSON.parse(node.body), { key: "node", count: 1 });
    const python = await request(server.port, host("deta-flask"), "/base");
    assert.equal(python.status, 200, python.body);
    assert.deepEqual(JSON.parse(python.body), { key: "one", count: 1 });
  });

  it("gives a Flask app `from deta import Deta, App` from the built-in library", async () => {
    const hello = await request(server.port, host("deta-flask"), "/hello");
    assert.equal(hello.status, 200, hello.body);
    assert.equal(hello.body, "hello from flask with deta");
    const library = await request(server.port, host("deta-flask"), "/library");
    assert.match(library.body, /\/lib\/deta\/__init__\.py$/);
    const run = await cli(["run", "greet", "--", "--name", "grace"], { cwd: python, env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { hello: "grace" });
  });
});
