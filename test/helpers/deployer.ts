/**
 * The deployer without a server: a real store in a temp dir and builds as plain processes (the builder the
 * sandbox runs, without root), and archives written block by block, so they can hold what no well-behaved packer
 * writes. Each helper registers its own cleanup.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after } from "node:test";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { openSharedBlobs } from "../../src/server/blobs/open-shared-blobs.js";
import { ProcessBuilds } from "../../src/server/builds/process-builds.js";
import type { InstanceManager } from "../../src/server/instances/manager.js";
import { LogSink } from "../../src/server/logs/log-sink.js";
import { QUIET } from "../../src/server/logs/operator-log.js";
import { Deployer, type DeployResult } from "../../src/server/releases/deployer.js";
import { LocalReleaseFiles } from "../../src/server/releases/release-files.js";
import { SharedReleaseFiles } from "../../src/server/releases/shared-release-files.js";
import { nodeRuntime } from "../../src/server/runtimes/node-runtime.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import type { Micro } from "../../src/server/store/micros.js";
import { useStore } from "./store.js";

export interface TarEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  content?: string;
  linkpath?: string;
  mode?: number;
}

export function tarball(entries: TarEntry[]): Buffer {
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

/** Regular files from a path → text map. */
export function files(texts: Record<string, string>): TarEntry[] {
  return Object.entries(texts).map(([path, content]) => ({ path, content }));
}

export async function useTmp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A deployer over a fresh data dir, with one user, project and micro; `retired` counts instance retirements. */
export async function useDeployer() {
  const dataDir = await useTmp("micros-deployer-");
  const store = await useStore();
  const user = await store.users.create("ada", true);
  const project = await store.projects.create(user.id, "default");
  const runtimes = new RuntimeRegistry([nodeRuntime()]);
  const created = await store.micros.create({
    projectId: project.id,
    name: "hello",
    runtime: runtimes.ids()[0] as string,
  });
  const micro = async () => (await store.micros.byId(created.id)) as Micro;
  let retired = 0;
  const maxCodeBytes = 10 * 1024 * 1024;
  // As the server chooses: with PostgreSQL, every release is published where other nodes can fetch it.
  const blobs = await openSharedBlobs(store, dataDir);
  const files = blobs
    ? new SharedReleaseFiles({ dataDir, blobs, releases: store.releases, runtimes, maxCodeBytes })
    : new LocalReleaseFiles(dataDir);
  const deployer = new Deployer({
    store,
    runtimes,
    instances: { retire: () => retired++ } as unknown as InstanceManager,
    logs: new LogSink(store.logs),
    operator: QUIET,
    builds: new ProcessBuilds({
      runDir: join(dataDir, "run"),
      cachesDir: join(dataDir, "cache", "owners"),
      timeoutMs: 120_000,
    }),
    files,
    dataDir,
    maxUploadBytes: 1024 * 1024,
    maxCodeBytes,
    keepReleases: 5,
  });
  await deployer.cleanup();
  const deploy = async (entries: TarEntry[], options: { fresh?: boolean } = {}): Promise<DeployResult> =>
    deployer.deploy(await micro(), Readable.from([tarball(entries)]), undefined, undefined, options);
  return { dataDir, store, userId: user.id, deployer, files, micro, deploy, retired: () => retired };
}
