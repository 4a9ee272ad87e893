import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Builds } from "../../builds/builds.js";
import { OwnerCaches } from "../../builds/owner-caches.js";
import { ProcessBuilds } from "../../builds/process-builds.js";
import { SandboxBuilds } from "../../builds/sandbox-builds.js";
import type { ServerConfig } from "../../config.js";
import { prepareSandboxEndpoint, type SandboxEndpointFiles } from "../../data/sandbox-endpoint.js";
import { Cgroups } from "../../sandbox/cgroups.js";
import { CodeSlots } from "../../sandbox/code-slots.js";
import { SandboxNetwork, type SandboxServices } from "../../sandbox/network.js";
import { checkSandbox, type SandboxTools } from "../../sandbox/preflight.js";
import { claimServerBlock, type ServerBlock } from "../../sandbox/server-block.js";
import type { Executor } from "../executor.js";
import { ProcessExecutor } from "./process.js";
import { SandboxExecutor } from "./sandbox.js";

/** Where instances run and where builds run: both sandboxed, or (`--sandbox none`) both plain processes. */
export interface Isolation {
  executor: Executor;
  builds: Builds;
  /**
   * Where the server must serve Base and Drive for its sandboxes, which resolve Deta's hosts there and trust
   * `files`' CA; none with `--sandbox none`, whose instances reach them through DETA_BASE_HOST.
   */
  services?: SandboxServices & { files: SandboxEndpointFiles };
}

/** Builds what the config asks for, after checking this machine can run it. */
export async function createIsolation(
  config: ServerConfig,
  dataDir: string,
  onWarmError: (runtime: string, err: unknown) => void,
): Promise<Isolation> {
  const runDir = join(dataDir, "run");
  const cacheDir = join(dataDir, "cache");
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  await chmod(cacheDir, 0o700);
  if (config.sandbox === "none") {
    return {
      executor: new ProcessExecutor(runDir),
      builds: new ProcessBuilds({ runDir, cachesDir: join(cacheDir, "owners"), timeoutMs: config.buildTimeoutMs }),
    };
  }
  const tools = await checkSandbox(100_000, [dataDir]);
  // Uids, subnet and names of this server's own, never another's on this host.
  const block = await claimServerBlock(dataDir);
  try {
    return await sandboxed(config, dataDir, block, tools, onWarmError);
  } catch (err) {
    block.release();
    throw err;
  }
}

async function sandboxed(
  config: ServerConfig,
  dataDir: string,
  block: ServerBlock,
  tools: SandboxTools,
  onWarmError: (runtime: string, err: unknown) => void,
): Promise<Isolation> {
  const runDir = join(dataDir, "run");
  const cacheDir = join(dataDir, "cache");
  const cgroups = await Cgroups.open(block.names.cgroups);
  const network = await SandboxNetwork.open(tools, block.names.network, block.index);
  const files = await prepareSandboxEndpoint(dataDir, network.services.address);
  const executor = new SandboxExecutor({
    runDir,
    block,
    tools,
    cgroups,
    network,
    slots: await CodeSlots.open(join(dataDir, "slots"), tools),
    platformFiles: files.publicDir,
    warmPool: config.warmPool,
    onWarmError,
    limits: {
      memoryBytes: config.memoryBytes,
      pids: config.pidsLimit,
      cpuWeight: config.cpuWeight,
      tmpBytes: config.tmpBytes,
    },
  });
  await mkdir(join(cacheDir, "owners"), { recursive: true, mode: 0o700 });
  await forgetCachesOfOtherUsers(join(cacheDir, "owners"), block.buildUids.first);
  const builds = new SandboxBuilds({
    runDir,
    tools,
    cgroups,
    network,
    caches: new OwnerCaches(tools, join(cacheDir, "owners"), join(runDir, "caches"), config.buildCacheBytes),
    limits: {
      memoryBytes: config.buildMemoryBytes,
      pids: config.buildPids,
      cpuWeight: config.buildCpuWeight,
      diskBytes: config.buildDiskBytes,
      cacheBytes: config.buildCacheBytes,
      timeoutMs: config.buildTimeoutMs,
    },
    firstUid: block.buildUids.first,
    uidCount: block.buildUids.count,
  });
  return { executor, builds, services: { ...network.services, files } };
}

/**
 * Owners' package caches belong to their build users. When this server's block changed since they were made
 * (another server on the host held the old one), those users changed too: the caches start afresh.
 */
async function forgetCachesOfOtherUsers(dir: string, firstBuildUid: number): Promise<void> {
  const record = join(dir, "build-uids");
  const previous = await readFile(record, "utf8").catch(() => undefined);
  if (previous?.trim() === String(firstBuildUid)) return;
  for (const name of await readdir(dir)) {
    if (name.endsWith(".img")) await rm(join(dir, name), { force: true });
  }
  await writeFile(record, `${firstBuildUid}\n`, { mode: 0o600 });
}
