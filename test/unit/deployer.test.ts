/**
 * The deployer with builds as plain processes (the same builder the sandbox runs, without root): what reaches a
 * release, what a refused upload leaves behind, and a deploy cancelled by the server stopping.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
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
import { Deployer, releaseDir } from "../../src/server/releases/deployer.js";
import { nodeRuntime } from "../../src/server/runtimes/node-runtime.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import type { Micro } from "../../src/server/store/micros.js";
import { Store } from "../../src/server/store/store.js";
import { MicrosError } from "../../src/shared/errors.js";

interface Entry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink";
  content?: string;
  linkpath?: string;
  mode?: number;
}

function tarball(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? "");
    const header = Buffer.alloc(512);
    new Header({
      path: entry.path,
      type: entry.type ?? "File",
      size: body.length,
      mode: entry.mode ?? (entry.type === "Directory" ? 0o755 : 0o644),
      mtime: new Date(0),
      linkpath: entry.linkpath,
    }).encode(header);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function useDeployer() {
  const dataDir = await mkdtemp(join(tmpdir(), "micros-deployer-"));
  dirs.push(dataDir);
  const store = Store.open(join(dataDir, "micros.db"));
  after(() => store.close());
  const user = store.users.create("ada", true);
  const project = store.projects.create(user.id, "default");
  const runtimes = new RuntimeRegistry([nodeRuntime()]);
  const micro = () => store.micros.byId(created.id) as Micro;
  const created = store.micros.create({ projectId: project.id, name: "hello", runtime: runtimes.ids()[0] as string });
  let retired = 0;
  const deployer = new Deployer({
    store,
    runtimes,
    instances: { retire: () => retired++ } as unknown as InstanceManager,
    logs: new LogSink(store.logs),
    operator: QUIET,
    builds: new ProcessBuilds({
      runDir: join(dataDir, "run"),
      cachesDir: join(dataDir, "cache", "owners"),
      timeoutMs: 60_000,
    }),
    dataDir,
    maxUploadBytes: 1024 * 1024,
    maxCodeBytes: 10 * 1024 * 1024,
    keepReleases: 3,
  });
  await deployer.cleanup();
  const deploy = (entries: Entry[]) => deployer.deploy(micro(), Readable.from([tarball(entries)]), undefined);
  return { dataDir, store, deployer, micro, deploy, retired: () => retired };
}

const APP: Entry[] = [
  { path: "index.js", content: "module.exports = (q, s) => s.end('hi');", mode: 0o6755 },
  { path: "lib/util.js", content: "exports.x = 1;" },
];

describe("deploying through builds", () => {
  it("makes the release live with the platform's permissions, and retires the old instances", async () => {
    const { dataDir, micro, deploy, retired } = await useDeployer();
    const { release } = await deploy(APP);
    assert.equal(micro().currentReleaseId, release.id);
    const dir = releaseDir(dataDir, micro().id, release.id);
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
    const dir = releaseDir(dataDir, micro().id, release.id);
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
    assert.equal(micro().currentReleaseId, good.release.id);
    assert.deepEqual(
      (await readdir(join(dataDir, "releases", micro().id))).filter((name) => !name.startsWith(good.release.id)),
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
        micro(),
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
    assert.equal(micro().currentReleaseId, null);
    assert.deepEqual(await readdir(join(dataDir, "run", "builds")), []);
    assert.deepEqual(
      (await readdir(join(dataDir, "releases", micro().id)).catch(() => [])).filter((name) =>
        name.endsWith(".building"),
      ),
      [],
    );
  });
});
