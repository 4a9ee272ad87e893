import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

/**
 * One contract, run against an app of every shape the Node runtime serves: each
 * fixture answers the same four routes in its own framework's idiom.
 */
const FRAMEWORKS = [
  "express",
  "koa",
  "fastify",
  "hono",
  "plain",
  "esm",
  "listen-express",
  "await-listen",
  "flask",
  "fastapi",
];
/** The examples users read are the apps under test; shapes no one should copy stay in the test fixtures. */
const EXAMPLES = new Set(["express", "koa", "fastify", "hono", "flask", "fastapi"]);
const source = (framework: string) => (EXAMPLES.has(framework) ? `examples/${framework}` : `frameworks/${framework}`);

describe("every app shape, Node.js and Python, answers the same contract", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  const dirs = new Map<string, string>();

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    for (const framework of FRAMEWORKS) {
      const dir = await copyApp(source(framework), `fw-${framework}`);
      const created = await cli(["new"], { cwd: dir, env });
      assert.equal(created.code, 0, `${framework}: ${created.stderr}`);
      dirs.set(framework, dir);
    }
  });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      const host = () => `fw-${framework}.localhost:${server.port}`;

      it("serves a route", async () => {
        const res = await request(server.port, host(), "/hello");
        assert.equal(res.status, 200, res.body);
        assert.equal(res.body, `hello from ${framework}`);
      });

      it("passes binary bodies through byte-exact, both ways", async () => {
        const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const body = Buffer.concat([every, randomBytes(1024 * 1024), every]);
        const res = await request(server.port, host(), "/echo", {
          method: "POST",
          body,
          headers: { "content-type": "application/octet-stream" },
        });
        assert.equal(res.status, 200);
        assert.ok(res.bytes.equals(body), `${res.bytes.length} bytes came back for ${body.length}`);
      });

      it("keeps repeated Set-Cookie headers apart", async () => {
        const res = await request(server.port, host(), "/cookies");
        const cookies = res.headers["set-cookie"] ?? [];
        assert.deepEqual(
          (Array.isArray(cookies) ? cookies : [cookies]).map((cookie) => cookie.split(";")[0]),
          ["a=1", "b=2"],
        );
      });

      it("knows the client's address from the gateway, whatever the client claims", async () => {
        const res = await request(server.port, host(), "/client", { headers: { "x-forwarded-for": "6.6.6.6" } });
        assert.equal(res.body, "127.0.0.1");
      });

      it("hands the query string over exactly as sent", async () => {
        const query = "a=1&b=%20x&a=2&empty=&odd=%E2%9C%93+plus";
        const res = await request(server.port, host(), `/query?${query}`);
        assert.equal(res.body, query);
      });
    });
  }

  it("an app that calls listen() itself is served on the platform's socket, its listen callback called", async () => {
    const logs = await cli(["logs"], { cwd: dirs.get("listen-express") ?? "", env });
    assert.match(logs.stdout, /\] listening\n/);
  });

  it("an ES module that awaits its own listen() while loading finishes loading and is served", async () => {
    const logs = await cli(["logs"], { cwd: dirs.get("await-listen") ?? "", env });
    assert.match(logs.stdout, /\] listening, loading goes on\n/);
  });
});
