import assert from "node:assert/strict";
import { access, constants, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import { copyApp, loggedIn, type MicrosServer, ROOT, request, useServer, useTmpDir } from "../helpers/micros.js";
import { createUser, dataTree, filesContaining, slowCli } from "./build-helpers.js";

/** The mark owner A's install script leaves wherever it can; built, so no file of the tests holds it. */
const MARK = ["pwned", "by", "A"].join("-");

/**
 * Dependencies are built in the build sandbox with their install scripts on and the host's compilers: a native
 * Node addon (bcrypt; C compiled by node-gyp is in build-native.test.ts) and a Python C extension
 * work, an unchanged install is reused, and one owner's build cannot reach another's.
 */
describe("the build sandbox", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
  });

  const deployNew = async (dir: string, options: { env?: NodeJS.ProcessEnv } = {}) => {
    const created = await slowCli(["new", "--json"], { cwd: dir, env: options.env ?? env });
    assert.equal(created.code, 0, created.stderr);
    return { micro: JSON.parse(created.stdout) as MicroView, stderr: created.stderr };
  };

  it("bcrypt hashes a password and checks it", async () => {
    const dir = await copyApp("builds/native-bcrypt", "bcrypt");
    const { stderr } = await deployNew(dir);
    assert.match(stderr, /dependencies installed with npm ci/);
    const res = await request(server.port, `bcrypt.localhost:${server.port}`, "/?password=correct-horse");
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { hash: string; right: boolean; wrong: boolean };
    assert.match(body.hash, /^\$2b\$04\$/);
    assert.equal(body.right, true);
    assert.equal(body.wrong, false);
  });

  it("an install finds the registries at the addresses the server resolved, whatever the host's DNS does meanwhile", async () => {
    const dir = join(await useTmpDir(), "hosts");
    await mkdir(dir);
    // The app's own install script shows the build's /etc/hosts, then fails the deploy so that its output is shown.
    const scripts = { install: "cat /etc/hosts >&2; exit 1" };
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "hosts", private: true, scripts }));
    await writeFile(join(dir, "index.js"), "module.exports = (req, res) => res.end('never');\n");
    const created = await slowCli(["new"], { cwd: dir, env });
    assert.notEqual(created.code, 0);
    assert.match(
      created.stderr,
      /# Package registries, as the server last resolved them\n(\d+\.\d+\.\d+\.\d+) registry\.npmjs\.org\n/,
    );
  });

  it("a Python C extension from a local folder, with an in-tree build backend, compiles and is imported", async () => {
    const dir = await copyApp("builds/python-cext", "cext");
    const { micro } = await deployNew(dir);
    assert.match(micro.runtime, /^python3\.\d+$/);
    const res = await request(server.port, `cext.localhost:${server.port}`);
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { fib: string; compiled: boolean; hostSecretsReadable: boolean };
    assert.equal(body.fib, "2880067194370816120", "fib(90), computed in C");
    assert.equal(body.compiled, true);
    // Built in the sandbox, not on the host as the server's user: the machine's secrets were out of its reach.
    const hostCan = await access("/etc/shadow", constants.R_OK).then(
      () => true,
      () => false,
    );
    if (hostCan) assert.equal(body.hostSecretsReadable, false, "the build could read /etc/shadow");
  });

  it("a redeploy with unchanged dependency files reuses the install", async () => {
    const dir = await copyApp("builds/tiny-dep", "tiny");
    await deployNew(dir);
    const source = await readFile(join(dir, "index.js"), "utf8");
    await writeFile(join(dir, "index.js"), source.replace("Hello from", "Hi from"));
    const redeployed = await slowCli(["deploy"], { cwd: dir, env });
    assert.equal(redeployed.code, 0, redeployed.stderr);
    assert.match(redeployed.stderr, /dependencies unchanged/);
    const res = await request(server.port, `tiny.localhost:${server.port}`);
    assert.equal(res.body, "Hi from tiny-dep: a day is 86400000 ms\n");
  });

  describe("caches cannot be poisoned across owners", () => {
    it("an owner's install script that tampers with every cache it can reach leaves no trace in another owner's micro", async () => {
      // A (the admin) and B depend on the same local package, with the same package.json and lock file; A's copy
      // of its install script is the tampering one.
      const tamperer = await copyApp("builds/owners/app", "owner-a");
      await copyFile(
        join(ROOT, "test", "fixtures", "builds", "owners", "tamper.js"),
        join(tamperer, "lib", "setup.js"),
      );
      await writeFile(
        join(tamperer, "lib", "attack.json"),
        JSON.stringify({ dataDir: server.dataDir, hostHome: process.env.HOME ?? "/root" }),
      );
      await deployNew(tamperer);
      const a = await request(server.port, `owner-a.localhost:${server.port}`);
      assert.equal(a.status, 200, a.body);
      assert.equal(JSON.parse(a.body).tamper?.ran, true, `A's install script ran: ${a.body}`);

      const tokenB = await createUser(server, "owner-b");
      const envB = {
        HOME: await useTmpDir(),
        MICROS_HOST: `http://localhost:${server.port}`,
        MICROS_ACCESS_TOKEN: tokenB,
      };
      const victim = await copyApp("builds/owners/app", "owner-b");
      const { micro } = await deployNew(victim, { env: envB });
      const b = await request(server.port, `owner-b.localhost:${server.port}`);
      assert.equal(b.status, 200, b.body);
      const seen = JSON.parse(b.body) as {
        lib: string;
        twoDays: string;
        check: { ran: boolean; traces: string[] } | null;
        tamper: unknown;
        marked: string[];
      };
      assert.equal(seen.check?.ran, true, `B's own install script ran (its install is its own): ${b.body}`);
      assert.deepEqual(seen.check?.traces, [], "B's build found nothing A left");
      assert.equal(seen.lib, "lib 1.0.0, as published");
      assert.equal(seen.twoDays, "172800000");
      assert.equal(seen.tamper, null);
      assert.deepEqual(seen.marked, [], "no file of B's micro carries A's mark");
      const release = join(server.dataDir, "releases", micro.id);
      assert.deepEqual(await filesContaining(release, MARK), [], "nor does any file of B's releases on the host");
      // A's script also tried to drop files into the platform's own folders, by path: none is there. (A's own
      // install, which the platform may keep for A's next deploy, holds A's tampering; that is A's business.)
      const platform = await dataTree(server.dataDir, ["releases", "run", "slots", "runtimes"], 8);
      const dropped = [...platform].filter((path) => basename(path).includes(MARK));
      assert.deepEqual(dropped, [], "no file A dropped in the data dir");
    });
  });
});
