import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import {
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  writeApp,
} from "../helpers/micros.js";

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** What a caller of the micro's URL and a reader of `micros logs` see when the app cannot be served. */
describe("apps that cannot be served answer 502 with the reason, and the logs say more", () => {
  let server: MicrosServer;
  let home: string;

  before(async () => {
    server = await useServer();
    home = await useTmpDir();
  });

  const deployFixture = async (fixture: string, name: string) => {
    const dir = await copyApp(fixture, name);
    const result = await cli(["new"], { cwd: dir, env: loggedIn(server, home) });
    assert.equal(result.code, 0, result.stderr);
    return dir;
  };

  it("an export that is not an app: 502 `Unsupported framework` telling what to add", async () => {
    const dir = await deployFixture("unsupported", "exports-settings");
    const res = await request(server.port, `exports-settings.localhost:${server.port}`);
    assert.equal(res.status, 502);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_UNSUPPORTED_FRAMEWORK");
    assert.match(error.message, /^Unsupported framework: index\.js exports an object with keys port\./);
    assert.match(error.message, /Add `module\.exports = app` at the end of index\.js/);
    const logs = await cli(["logs"], { cwd: dir, env: loggedIn(server, home) });
    assert.match(logs.stdout, /failed to start: Unsupported framework/);
  });

  it("an app that throws while loading: 502 with the error's first line, the stack in the logs", async () => {
    const dir = await deployFixture("throws", "throws-at-load");
    const res = await request(server.port, `throws-at-load.localhost:${server.port}`);
    assert.equal(res.status, 502);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_APP_CRASHED");
    assert.equal(error.message, "index.js threw while loading: Error: DATABASE_URL is not set");
    const logs = await cli(["logs"], { cwd: dir, env: loggedIn(server, home) });
    assert.match(logs.stdout, /Error: DATABASE_URL is not set/);
    assert.match(logs.stdout, /at connect \(.*index\.js:2:/, "the stack names the user's code");
  });

  it("an app that exits while loading: 502 saying so; after repeated failures the platform backs off", async () => {
    const dir = await copyApp("boot-id", "exits-at-load");
    await writeApp(dir, { "index.js": 'console.error("no config, giving up"); process.exit(3);' });
    const created = await cli(["new"], { cwd: dir, env: loggedIn(server, home) });
    assert.equal(created.code, 0, created.stderr);
    const messages: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await request(server.port, `exits-at-load.localhost:${server.port}`);
      assert.equal(res.status, 502);
      const { error } = JSON.parse(res.body);
      assert.equal(error.code, "ERR_APP_CRASHED");
      assert.match(error.message, /exited with code 3 before it was ready: no config, giving up/);
      messages.push(error.message);
    }
    assert.doesNotMatch(messages[1] ?? "", /times in a row/, "the second request tried a fresh start");
    assert.match(messages[2] ?? "", /failed to start 2 times in a row, so the platform waits before trying again/);
    const details = await cli(["details"], { cwd: dir, env: loggedIn(server, home) });
    assert.match(
      details.stdout,
      /failing: +the last 2 starts failed \(next try after .*\): The micro's process exited/,
    );
    const logs = await cli(["logs"], { cwd: dir, env: loggedIn(server, home) });
    assert.equal(logs.stdout.match(/failed to start/g)?.length, 2, "the backoff answer started nothing");
  });

  it("a micro with no code yet answers 503 telling to deploy", async () => {
    const created = await fetch(`http://127.0.0.1:${server.port}/v1/micros`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "empty-one", runtime: "node" }),
    });
    assert.equal(created.status, 201);
    const res = await request(server.port, `empty-one.localhost:${server.port}`);
    assert.equal(res.status, 503);
    assert.match(JSON.parse(res.body).error.message, /has no code yet\. Deploy it with `micros deploy`/);
  });

  it("a bad archive is refused with 422 and the micro keeps serving its release", async () => {
    await deployFixture("boot-id", "keeps-serving");
    const { micros } = (await (
      await fetch(`http://127.0.0.1:${server.port}/v1/micros?name=keeps-serving`, {
        headers: { authorization: `Bearer ${server.token}` },
      })
    ).json()) as { micros: { id: string }[] };
    const id = micros[0]?.id;
    assert.ok(id);
    const upload = (body: Buffer) =>
      fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}/releases`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/gzip" },
        body,
      });
    const garbage = await upload(gzipSync(Buffer.from("this is not a tar archive, just text padded out ".repeat(40))));
    assert.equal(garbage.status, 422);
    assert.equal(((await garbage.json()) as { error: { code: string } }).error.code, "ERR_BAD_ARCHIVE");
    const wrongType = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "text/plain" },
      body: "hello",
    });
    assert.equal(wrongType.status, 415);
    const res = await request(server.port, `keeps-serving.localhost:${server.port}`);
    assert.equal(res.status, 200);
  });

  it("`micros new` follows Deta's rules for the runtime and refuses a bad name, creating nothing", async () => {
    const env = loggedIn(server, home);
    const empty = await useTmpDir();
    const noFlag = await cli(["new"], { cwd: empty, env });
    assert.equal(noFlag.code, 1);
    assert.match(noFlag.stderr, /is empty: choose a runtime with `micros new --node` or `micros new --python`/);

    const stray = await useTmpDir();
    await writeApp(stray, { "notes.txt": "not an app" });
    const noEntry = await cli(["new", "--node"], { cwd: stray, env });
    assert.equal(noEntry.code, 1);
    assert.match(noEntry.stderr, /No entry file in .*: add index\.js/);

    const both = await copyApp("boot-id", "both");
    await writeApp(both, { "main.py": "app = None\n" });
    assert.match((await cli(["new"], { cwd: both, env })).stderr, /has both main\.py and index\.js/);
    const mismatch = await copyApp("boot-id", "mismatch");
    assert.match(
      (await cli(["new", "--python"], { cwd: mismatch, env })).stderr,
      /holds a node app, but python was asked for/,
    );

    const dir = await copyApp("boot-id", "fine");
    const badName = await cli(["new", "--name", "Not_Valid"], { cwd: dir, env });
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /"Not_Valid" is not a valid micro name/);
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    const again = await cli(["new"], { cwd: dir, env });
    assert.match(again.stderr, /is already a micro \(it has a \.micros\/ folder\)/);
  });

  for (const language of ["node", "python"]) {
    it(`\`micros new --${language}\` in an empty folder writes a starter app that serves`, async () => {
      const dir = join(await useTmpDir(), `starter-${language}`);
      const created = await cli(["new", `--${language}`, dir], { cwd: await useTmpDir(), env: loggedIn(server, home) });
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stderr, /Wrote a starter app/);
      const res = await request(server.port, `starter-${language}.localhost:${server.port}`);
      assert.equal(res.body, `Hello from starter-${language}!\n`);
    });
  }

  it("the CLI says which server it could not reach", async () => {
    const dir = await copyApp("boot-id", "unreachable");
    const port = await closedPort();
    const result = await cli(["new"], {
      cwd: dir,
      env: { HOME: home, MICROS_HOST: `http://127.0.0.1:${port}`, MICROS_ACCESS_TOKEN: "x" },
    });
    assert.equal(result.code, 1);
    assert.ok(
      result.stderr.includes(`Could not reach the Micros server at http://127.0.0.1:${port} (ECONNREFUSED)`),
      result.stderr,
    );
  });
});
