/**
 * A fresh deploy (`micros deploy purge-dependencies`, `?fresh=1` on the upload) installs the dependencies from
 * scratch: neither the base release's install nor the owner's install cache is used, and the new install takes the
 * cached one's place. Builds as plain processes; the one dependency is a local package, so nothing is downloaded.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { ProcessBuilds } from "../../src/server/builds/process-builds.js";
import type { InstanceManager } from "../../src/server/instances/manager.js";
import { LogSink } from "../../src/server/logs/log-sink.js";
import { QUIET } from "../../src/server/logs/operator-log.js";
import { Deployer } from "../../src/server/releases/deployer.js";
import { nodeRuntime } from "../../src/server/runtimes/node-runtime.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import type { Micro } from "../../src/server/store/micros.js";
import { Store } from "../../src/server/store/store.js";

function tarball(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [path, text] of Object.entries(files)) {
    const body = Buffer.from(text);
    const header = Buffer.alloc(512);
    new Header({ path, type: "File", size: body.length, mode: 0o644, mtime: new Date(0) }).encode(header);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function useDeployer() {
  const dataDir = await mkdtemp(join(tmpdir(), "micros-fresh-"));
  dirs.push(dataDir);
  const store = Store.open(join(dataDir, "micros.db"));
  after(() => store.close());
  const user = store.users.create("ada", true);
  const project = store.projects.create(user.id, "default");
  const runtimes = new RuntimeRegistry([nodeRuntime()]);
  const created = store.micros.create({ projectId: project.id, name: "hello", runtime: runtimes.ids()[0] as string });
  const deployer = new Deployer({
    store,
    runtimes,
    instances: { retire: () => {} } as unknown as InstanceManager,
    logs: new LogSink(store.logs),
    operator: QUIET,
    builds: new ProcessBuilds({
      runDir: join(dataDir, "run"),
      cachesDir: join(dataDir, "cache", "owners"),
      timeoutMs: 120_000,
    }),
    dataDir,
    maxUploadBytes: 1024 * 1024,
    maxCodeBytes: 10 * 1024 * 1024,
    keepReleases: 5,
  });
  await deployer.cleanup();
  const deploy = async (files: Record<string, string>, fresh = false) =>
    (
      await deployer.deploy(
        store.micros.byId(created.id) as Micro,
        Readable.from([tarball(files)]),
        undefined,
        undefined,
        {
          fresh,
        },
      )
    ).release;
  const cacheDir = join(dataDir, "cache", "installs", user.id);
  return { deploy, cacheDir };
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
    const { deploy } = await useDeployer();
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
    const { deploy, cacheDir } = await useDeployer();
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
