import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { create as createTar } from "tar";
import { copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";
import { slowCli } from "./build-helpers.js";

/** FNV-1a (32 bits) of a string's UTF-8 bytes: what the fixture's C code computes. */
function fnv1a(text: string): number {
  let hash = 2166136261;
  for (const byte of Buffer.from(text, "utf8")) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  return hash;
}

/**
 * Native Node addons build at deploy: install scripts run in the build sandbox with the host's compilers and Node's
 * own headers, so a package whose install compiles C with node-gyp works, as better-sqlite3 does when no prebuilt
 * binary is in reach. The fixture's package is a few lines of C, so the test compiles in seconds rather than the
 * minutes SQLite takes; bcrypt, which picks a prebuilt binary in its install script, is in build-sandbox.test.ts.
 */
describe("native Node addons build in the build sandbox", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
  });

  it("C code compiles with node-gyp at install, against the running Node's headers, and the micro calls it", async () => {
    const dir = await copyApp("builds/native-addon", "addon");
    // The addon travels as a package tarball, as it would from a registry: npm unpacks it into node_modules and
    // runs its install script there (a folder dependency would be a link to code that is not rebuilt).
    const source = join(dir, "fnv");
    const files = ["package.json", "binding.gyp", "fnv.c", "index.js"];
    await createTar({ gzip: true, file: join(dir, "fnv-1.0.0.tgz"), cwd: source, prefix: "package" }, files);
    await rm(source, { recursive: true });
    const created = await slowCli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /dependencies installed with npm install/);
    for (const text of ["hello", "compiled at deploy", "ünïcödé ✓"]) {
      const res = await request(server.port, `addon.localhost:${server.port}`, `/?text=${encodeURIComponent(text)}`);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { text, fnv: fnv1a(text) });
    }
  });
});
