import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { ReleaseView } from "../../src/shared/api.js";
import {
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  ROOT,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

describe("incremental deploys: only what changed travels, and the server composes the rest", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
  });

  describe("a micro with files", () => {
    let dir: string;
    let other: string;
    const file = async (name: string) =>
      (await request(server.port, `files.localhost:${server.port}`, `/?name=${name}`)).body;
    const releases = async () =>
      (JSON.parse((await cli(["releases", "--json"], { cwd: dir, env })).stdout) as ReleaseView[]).length;

    before(async () => {
      dir = await copyApp("files", "files");
      assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
      // A second checkout of the same micro, as on another machine.
      other = join(await useTmpDir(), "files");
      await cp(dir, other, { recursive: true });
    });

    it("sends one changed file, and the release holds all the others", async () => {
      await writeFile(join(dir, "a.txt"), "second\n");
      const result = await cli(["deploy"], { cwd: dir, env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Sending 1 changed file \(2 unchanged, 0 deleted;/);
      assert.equal(await file("a.txt"), "second\n");
      assert.equal(await file("b.txt"), "first\n");
    });

    it("says so when nothing changed, and makes no release", async () => {
      const before = await releases();
      const result = await cli(["deploy"], { cwd: dir, env });
      assert.equal(result.code, 0);
      assert.match(result.stderr, /Everything is up to date/);
      assert.equal(await releases(), before);
    });

    it("a file deleted locally is deleted from the release", async () => {
      await rm(join(dir, "b.txt"));
      const result = await cli(["deploy"], { cwd: dir, env });
      assert.match(result.stderr, /Sending 0 changed files \(2 unchanged, 1 deleted;/);
      assert.equal(await file("b.txt"), "no b.txt");
    });

    it("another checkout deploys what its folder holds, not a stale 'up to date'", async () => {
      // `other` still has the first a.txt and b.txt: both differ from what serves now.
      const result = await cli(["deploy"], { cwd: other, env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Sending 2 changed files \(1 unchanged, 0 deleted;/);
      assert.equal(await file("a.txt"), "first\n");
      assert.equal(await file("b.txt"), "first\n");
    });

    it("--force sends every file", async () => {
      const result = await cli(["deploy", "--force"], { cwd: other, env });
      assert.match(result.stderr, /Sending all 3 files/);
    });
  });

  describe("a micro with npm dependencies", () => {
    it("reuses the install when the dependency files did not change, and installs again when they did", async () => {
      const dir = await copyApp("examples/express-hello", "deps");
      assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
      const source = await readFile(join(dir, "index.js"), "utf8");
      await writeFile(join(dir, "index.js"), source.replace("Hello from", "Hi from"));
      const code = await cli(["deploy"], { cwd: dir, env });
      assert.match(code.stderr, /Sending 1 changed file/);
      assert.match(code.stderr, /dependencies unchanged, install reused/);
      assert.equal((await request(server.port, `deps.localhost:${server.port}`)).body, "Hi from deps!\n");

      const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
      await writeFile(join(dir, "package.json"), JSON.stringify({ ...pkg, description: "changed" }, null, 2));
      const deps = await cli(["deploy"], { cwd: dir, env });
      assert.match(deps.stderr, /dependencies installed with npm ci/);
      assert.equal((await request(server.port, `deps.localhost:${server.port}`)).body, "Hi from deps!\n");

      // Another micro with the same package.json and lock file takes the install from the cache.
      const twin = await copyApp("examples/express-hello", "twin");
      await writeFile(join(twin, "package.json"), await readFile(join(dir, "package.json"), "utf8"));
      const created = await cli(["new"], { cwd: twin, env });
      assert.match(created.stderr, /dependencies from the install cache/);
      assert.equal((await request(server.port, `twin.localhost:${server.port}`)).body, "Hello from twin!\n");
    });
  });

  it("`watch` deploys every saved change and keeps watching after a failed deploy", async () => {
    const dir = await copyApp("files", "watched");
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    const watcher = spawn(process.execPath, [join(ROOT, "bin", "micros.js"), "watch"], {
      cwd: dir,
      env: { PATH: process.env.PATH, ...env },
    });
    let output = "";
    watcher.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    watcher.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    const seen = (text: string) => waitFor(text, async () => (output.includes(text) ? true : undefined), 60_000);
    try {
      await seen("Watching");
      await writeFile(join(dir, "a.txt"), "edited\n");
      await seen("Deployed watched v2");
      const res = await request(server.port, `watched.localhost:${server.port}`, "/?name=a.txt");
      assert.equal(res.body, "edited\n");

      await writeFile(
        join(dir, "package.json"),
        JSON.stringify({ dependencies: { "micros-test-no-such-package-4b1d": "1.0.0" } }),
      );
      await seen("Deploy failed, still watching");
      await rm(join(dir, "package.json"));
      await writeFile(join(dir, "b.txt"), "fixed\n");
      await seen("Deployed watched v3");
    } finally {
      watcher.kill("SIGINT");
    }
  });
});
