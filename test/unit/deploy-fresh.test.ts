/**
 * A fresh deploy (`micros deploy purge-dependencies`, `?fresh=1` on the upload) installs the dependencies from
 * scratch: neither the base release's install nor the owner's install cache is used, and the new install takes the
 * cached one's place. Builds as plain processes; the one dependency is a local package, so nothing is downloaded.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { files, useDeployer } from "../helpers/deployer.js";

/** Deploys a path → text map; the release. */
async function useFresh() {
  const { deploy, dataDir, userId } = await useDeployer();
  return {
    deploy: async (texts: Record<string, string>, fresh = false) => (await deploy(files(texts), { fresh })).release,
    cacheDir: join(dataDir, "cache", "installs", userId),
  };
}

const APP = {
  "index.js": "module.exports = (q, s) => s.end(String(require('dep')));",
  "package.json": JSON.stringify({ name: "app", version: "1.0.0", dependencies: { dep: "file:./dep" } }),
  "dep/package.json": JSON.stringify({ name: "dep", version: "1.0.0" }),
  "dep/index.js": "module.exports = 1;",
};
const LOCK = JSON.stringify({
  name: "app",
  version: "1.0.0",
  lockfileVersion: 3,
  requires: true,
  packages: {
    "": { name: "app", version: "1.0.0", dependencies: { dep: "file:./dep" } },
    dep: { version: "1.0.0" },
    "node_modules/dep": { resolved: "dep", link: true },
  },
});

describe("a fresh deploy", () => {
  it("installs again instead of reusing the install of the release it builds on", async () => {
    const { deploy } = await useFresh();
    const first = await deploy(APP);
    assert.notEqual(first.install, "reused");
    const changes = (base: string) => ({
      "index.js": "module.exports = (q, s) => s.end('v2');",
      ".micros-changes.json": JSON.stringify({ base, deleted: [] }),
    });
    const reused = await deploy(changes(first.id));
    assert.equal(reused.install, "reused", "the same dependencies: the base's install");
    const fresh = await deploy(changes(reused.id), true);
    assert.notEqual(fresh.install, "reused");
    assert.notEqual(fresh.install, "cached");
  });

  it("installs again instead of taking the cached install, and its install replaces the cached one", async () => {
    const { deploy, cacheDir } = await useFresh();
    const app = { ...APP, "package-lock.json": LOCK };
    assert.notEqual((await deploy(app)).install, "cached");
    assert.equal((await deploy(app)).install, "cached", "the same lock file: the cached install");
    const [entry] = await readdir(cacheDir);
    assert.ok(entry);
    const before = (await stat(join(cacheDir, entry))).ino;
    const fresh = await deploy(app, true);
    assert.notEqual(fresh.install, "cached");
    assert.deepEqual(await readdir(cacheDir), [entry], "one entry, under the same key");
    assert.notEqual((await stat(join(cacheDir, entry))).ino, before, "the fresh install took its place");
    assert.equal((await deploy(app)).install, "cached");
  });
});
