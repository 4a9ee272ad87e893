/**
 * The deployer with builds as plain processes (the same builder the sandbox runs, without root): what reaches a
 * release, what a refused upload leaves behind, and a deploy cancelled by the server stopping.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { releaseDir } from "../../src/server/releases/release-files.js";
import { MicrosError } from "../../src/shared/errors.js";
import { type TarEntry, tarball, useDeployer } from "../helpers/deployer.js";

const APP: TarEntry[] = [
  { path: "index.js", content: "module.exports = (q, s) => s.end('hi');", mode: 0o6755 },
  { path: "lib/util.js", content: "exports.x = 1;" },
];

describe("deploying through builds", () => {
  it("makes the release live with the platform's permissions, and retires the old instances", async () => {
    const { dataDir, micro, deploy, retired } = await useDeployer();
    const { release } = await deploy(APP);
    assert.equal((await micro()).currentReleaseId, release.id);
    const dir = releaseDir(dataDir, (await micro()).id, release.id);
    assert.equal(await readFile(join(dir, "lib", "util.js"), "utf8"), "exports.x = 1;");
    assert.equal((await lstat(join(dir, "index.js"))).mode & 0o7777, 0o755, "no set-id bits");
    assert.equal((await lstat(join(dataDir, "releases"))).mode & 0o777, 0o700, "closed to other users");
    assert.equal(retired(), 1);
  });

  it("completes an upload of changes from the release it builds on", async () => {
    const { dataDir, micro, deploy } = await useDeployer();
    const first = await deploy(APP);
    const { release } = await deploy([
      { path: "index.js", content: "module.exports = (q, s) => s.end('v2');" },
      { path: ".micros-changes.json", content: JSON.stringify({ base: first.release.id, deleted: [] }) },
    ]);
    const dir = releaseDir(dataDir, (await micro()).id, release.id);
    assert.equal(await readFile(join(dir, "lib", "util.js"), "utf8"), "exports.x = 1;");
    assert.match(await readFile(join(dir, "index.js"), "utf8"), /v2/);
    await assert.rejects(lstat(join(dir, ".micros-changes.json")));
  });

  it("refuses a chain of links that climbs out, leaving the previous release serving and nothing behind", async () => {
    const { dataDir, micro, deploy } = await useDeployer();
    const good = await deploy(APP);
    const error = await deploy([
      { path: "index.js", content: "x" },
      { path: "x/token.txt", type: "SymbolicLink", linkpath: "../d/l4/admin-token" },
      { path: "d/l4", type: "SymbolicLink", linkpath: "l3/.." },
      { path: "d/l3", type: "SymbolicLink", linkpath: "l2/.." },
      { path: "d/l2", type: "SymbolicLink", linkpath: "l/.." },
      { path: "d/l", type: "SymbolicLink", linkpath: ".." },
    ]).catch((err: unknown) => err);
    assert.ok(error instanceof MicrosError);
    assert.equal(error.code, "ERR_BAD_ARCHIVE");
    assert.ok(!error.message.includes(dataDir), "no host path in the answer");
    assert.equal((await micro()).currentReleaseId, good.release.id);
    assert.deepEqual(
      (await readdir(join(dataDir, "releases", (await micro()).id))).filter(
        (name) => !name.startsWith(good.release.id),
      ),
      [],
    );
    assert.deepEqual(await readdir(join(dataDir, "run", "builds")), [], "the build's folder is gone");
  });

  it("refuses an entry file that is a link", async () => {
    const { deploy } = await useDeployer();
    const error = await deploy([
      { path: "real.js", content: "x" },
      { path: "index.js", type: "SymbolicLink", linkpath: "real.js" },
    ]).catch((err: unknown) => err);
    assert.equal((error as MicrosError).code, "ERR_MISSING_ENTRY");
  });

  it("cancels a deploy in progress when the server stops, ending its install and removing what it made", async () => {
    const { dataDir, deployer, micro } = await useDeployer();
    // An install that would run for a minute: an install script that sleeps, with a length no other test uses.
    const sleeper = "61.25";
    const pending = deployer
      .deploy(
        await micro(),
        Readable.from([
          tarball([
            { path: "index.js", content: "module.exports = (q, s) => s.end('hi');" },
            { path: "package.json", content: JSON.stringify({ dependencies: { slow: "file:./slow" } }) },
            {
              path: "slow/package.json",
              content: JSON.stringify({ name: "slow", version: "1.0.0", scripts: { postinstall: `sleep ${sleeper}` } }),
            },
          ]),
        ]),
        undefined,
      )
      .catch((err: unknown) => err);
    const sleeping = () => spawnSync("pgrep", ["-f", `sleep ${sleeper}`]).status === 0;
    while (!sleeping()) await new Promise((resolve) => setTimeout(resolve, 20));
    await deployer.close();
    const error = await pending;
    assert.equal((error as MicrosError).code, "ERR_SHUTTING_DOWN");
    assert.equal(sleeping(), false, "the install script was ended");
    assert.equal((await micro()).currentReleaseId, null);
    assert.deepEqual(await readdir(join(dataDir, "run", "builds")), []);
    assert.deepEqual(
      (await readdir(join(dataDir, "releases", (await micro()).id)).catch(() => [])).filter((name) =>
        name.endsWith(".building"),
      ),
      [],
    );
  });
});

describe("a local package the dependency files install from", () => {
  const app = (version: string): TarEntry[] => [
    { path: "index.js", content: "module.exports = (q, s) => s.end(require('dep'));" },
    { path: "package.json", content: JSON.stringify({ dependencies: { dep: "file:./dep" } }) },
    { path: "dep/package.json", content: JSON.stringify({ name: "dep", version: "1.0.0" }) },
    { path: "dep/index.js", content: `module.exports = ${JSON.stringify(version)};` },
  ];

  it("is installed again when its files change, though package.json did not", async () => {
    const { dataDir, micro, deploy } = await useDeployer();
    const first = await deploy(app("one"));
    const changes = (base: string, files: TarEntry[]) => [
      ...files,
      { path: ".micros-changes.json", content: JSON.stringify({ base, deleted: [] }) },
    ];
    const unchanged = await deploy(changes(first.release.id, [{ path: "index.js", content: "module.exports = 1;" }]));
    assert.equal(unchanged.release.install, "reused", "only the app's own code changed");
    const changed = await deploy(changes(unchanged.release.id, app("two").slice(3)));
    assert.notEqual(changed.release.install, "reused");
    // The bundle of dependencies, when one was made, is made again from the new files.
    const bundle = join(
      releaseDir(dataDir, (await micro()).id, changed.release.id),
      "node_modules",
      ".micros",
      "vendor.cjs",
    );
    const bundled = await readFile(bundle, "utf8").catch(() => "");
    assert.ok(!bundled.includes('"one"'), "nothing of the old package");
  });
});
