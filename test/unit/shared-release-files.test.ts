/**
 * Releases in a cluster, on a real PostgreSQL (from MICROS_TEST_DATABASE_URL): one node builds a release, another
 * (a data dir and a blob cache of its own, the same database) fetches and unpacks it.
 */
import assert from "node:assert/strict";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BLOB_REFERENCES } from "../../src/server/blobs/open-shared-blobs.js";
import { PgBlobs } from "../../src/server/blobs/pg-blobs.js";
import type { SharedBlobs } from "../../src/server/blobs/shared-blobs.js";
import { buildManifest, manifestFile, readManifest } from "../../src/server/releases/manifest.js";
import { releaseDir } from "../../src/server/releases/release-files.js";
import { SharedReleaseFiles } from "../../src/server/releases/shared-release-files.js";
import { nodeRuntime } from "../../src/server/runtimes/node-runtime.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import type { PostgresStore } from "../../src/server/store/postgres/postgres-store.js";
import { type TarEntry, useDeployer } from "../helpers/deployer.js";
import { useTmpDir } from "../helpers/micros.js";
import { TEST_DATABASE_URL } from "../helpers/postgres.js";

const APP: TarEntry[] = [
  { path: "index.js", content: "module.exports = (q, s) => s.end('hi');" },
  { path: "bin/tool", content: "#!/bin/sh\n", mode: 0o755 },
  { path: "lib/deep/util.js", content: "exports.x = 1;" },
  { path: "util.js", type: "SymbolicLink", linkpath: "lib/deep/util.js" },
];
const HOUR = 60 * 60 * 1000;

/** A second node on the deployer's database: its own data dir and blob cache; `fetches` counts blobs it asked for. */
async function otherNode(store: PostgresStore, now?: () => number) {
  const dataDir = await useTmpDir("micros-node2-");
  const pgBlobs = new PgBlobs(store.db, { cacheDir: join(dataDir, "blobs"), references: BLOB_REFERENCES });
  let fetches = 0;
  const blobs: SharedBlobs = {
    put: (file) => pgBlobs.put(file),
    local: (hash) => {
      fetches++;
      return pgBlobs.local(hash);
    },
    sweep: () => pgBlobs.sweep(),
  };
  const files = new SharedReleaseFiles({
    dataDir,
    blobs,
    releases: store.releases,
    runtimes: new RuntimeRegistry([nodeRuntime()]),
    maxCodeBytes: 10 * 1024 * 1024,
    ...(now ? { now } : {}),
  });
  return { dataDir, files, fetches: () => fetches };
}

describe("releases shared through PostgreSQL", {
  skip: TEST_DATABASE_URL
    ? undefined
    : "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases (such as postgres://micros:micros@127.0.0.1:5432/postgres) to run these tests",
}, () => {
  it("records a release only with the hash of its blob, stored whole", async () => {
    const { store, deploy } = await useDeployer();
    const { release } = await deploy(APP);
    const stored = await store.releases.byId(release.id);
    assert.match(stored?.contentHash ?? "", /^[0-9a-f]{64}$/);
    const blob = await (store as PostgresStore).db.row<{ size: number }>("SELECT size FROM blobs WHERE hash = $1", [
      stored?.contentHash,
    ]);
    assert.ok(blob && blob.size > 0);
  });

  it("gives a node that did not build a release the tree its builder left, fetched once for concurrent starts", async () => {
    const { store, dataDir, micro, deploy } = await useDeployer();
    const { release } = await deploy(APP);
    const node = await otherNode(store as PostgresStore);
    const deployed = await micro();
    const starts = await Promise.all([1, 2, 3].map(() => node.files.ready(deployed, release.id)));
    const dir = releaseDir(node.dataDir, (await micro()).id, release.id);
    assert.deepEqual(starts, [dir, dir, dir]);
    assert.equal(node.fetches(), 1);
    const built = releaseDir(dataDir, (await micro()).id, release.id);
    assert.deepEqual(await buildManifest(dir, "node_modules"), await buildManifest(built, "node_modules"));
    assert.deepEqual(await readManifest(dir), await readManifest(built));
    for (const path of ["index.js", "bin/tool", "lib/deep", "util.js"]) {
      const [there, here] = [await lstat(join(built, path)), await lstat(join(dir, path))];
      assert.equal(here.mode, there.mode, `${path} has the builder's mode`);
      assert.equal(here.uid, there.uid, `${path} has the builder's owner`);
    }
    assert.equal(await readFile(join(dir, "util.js"), "utf8"), "exports.x = 1;");
    assert.deepEqual(
      (await readdir(join(node.dataDir, "releases", (await micro()).id))).sort(),
      [release.id, `${release.id}.files.json`],
      "nothing half-fetched is left beside it",
    );
    assert.equal(await node.files.ready(await micro(), release.id), dir, "a second start finds it on disk");
    assert.equal(node.fetches(), 1);
  });

  it("knows no release of another micro, nor one never recorded", async () => {
    const { store, micro, deploy } = await useDeployer();
    const { release } = await deploy(APP);
    const node = await otherNode(store as PostgresStore);
    assert.equal(
      await node.files.ready({ id: "another-micro", runtime: (await micro()).runtime }, release.id),
      undefined,
    );
    assert.equal(await node.files.ready(await micro(), store.releases.newId()), undefined);
  });

  it("sweeps a node's copies of releases pruned elsewhere, once they are old enough not to be a deploy's", async () => {
    const { store, micro, deploy } = await useDeployer();
    const first = await deploy(APP);
    const second = await deploy(APP);
    let clock = Date.now();
    const node = await otherNode(store as PostgresStore, () => clock);
    for (const { release } of [first, second]) assert.ok(await node.files.ready(await micro(), release.id));
    assert.deepEqual(await store.releases.prune((await micro()).id, 1), [first.release.id]);
    assert.equal(await node.files.sweep(), 0, "a folder made within the hour may be a deploy's");
    clock += 2 * HOUR;
    assert.equal(await node.files.sweep(), 1);
    const gone = releaseDir(node.dataDir, (await micro()).id, first.release.id);
    await assert.rejects(lstat(gone));
    await assert.rejects(lstat(manifestFile(gone)));
    assert.ok(await lstat(releaseDir(node.dataDir, (await micro()).id, second.release.id)));
  });
});
