import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  cli,
  copyApp,
  type MicrosServer,
  printed,
  ROOT,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

/** The README's quick start, step by step, with the express example and a real npm install. */
describe("the README quick start", () => {
  let server: MicrosServer;
  let home: string;
  let dir: string;

  before(async () => {
    server = await useServer();
    home = await useTmpDir();
    dir = await copyApp("examples/express-hello", "express-hello");
  });

  it("the server wrote the admin token with mode 0600 and said how to log in", async () => {
    const { mode } = await stat(join(server.dataDir, "admin-token"));
    assert.equal(mode & 0o777, 0o600);
    await printed(server, /Log in with: micros login --host http:\/\/localhost:\d+ --token/);
  });

  it("the server said where its dashboard is, and the dashboard's page is there", async () => {
    const shown = (await printed(server, /The dashboard is at (http:\/\/localhost:\d+)\//))[1];
    assert.equal(shown, `http://localhost:${server.port}`);
    const page = await request(server.port, `localhost:${server.port}`, "/");
    assert.equal(page.status, 200);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.match(page.body, /<title>Micros<\/title>/);
  });

  it("`micros login` checks the token and stores it readable only by the user", async () => {
    const bad = await cli(["login", "--host", `http://localhost:${server.port}`, "--token", "micros_wrong"], {
      cwd: dir,
      env: { HOME: home },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /The access token is not valid/);

    const result = await cli(["login", "--host", `http://localhost:${server.port}`, "--token", server.token], {
      cwd: dir,
      env: { HOME: home },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Logged in to http:\/\/localhost:\d+ as admin/);
    const { mode } = await stat(join(home, ".micros", "credentials.json"));
    assert.equal(mode & 0o777, 0o600);
  });

  it("`micros new` installs express on the server and the endpoint answers", async () => {
    const result = await cli(["new"], { cwd: dir, env: { HOME: home } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /dependencies installed with npm ci/);
    // Progress as the server reports it, one line per step when stderr is not a terminal.
    assert.match(
      result.stderr,
      /Uploaded [\d.]+ KB; checking and unpacking\.\.\.\nInstalling dependencies on the server\.\.\./,
    );
    assert.match(result.stdout, new RegExp(`endpoint: +http://express-hello\\.localhost:${server.port}`));
    const res = await request(server.port, `express-hello.localhost:${server.port}`, "/json?b=2&a=1");
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { micro: "express-hello", path: "/json", query: { b: "2", a: "1" } });
    assert.equal(res.headers["x-powered-by"], "Express");
  });

  it("`micros logs --follow` prints new lines as the app writes them", async () => {
    const follower = spawn(process.execPath, [join(ROOT, "bin", "micros.js"), "logs", "--follow", "--json"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: home },
    });
    let output = "";
    follower.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    try {
      await waitFor("the backlog", async () => (output.includes("release v1 is live") ? true : undefined));
      assert.doesNotMatch(output, /followed-request/);
      await request(server.port, `express-hello.localhost:${server.port}`, "/followed-request");
      const line = await waitFor("the app's line to arrive live", async () =>
        output.split("\n").find((entry) => entry.includes("GET /followed-request")),
      );
      assert.equal(JSON.parse(line).source, "stdout");
    } finally {
      follower.kill("SIGINT");
    }
  });
});
