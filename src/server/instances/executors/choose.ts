import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Builds } from "../../builds/builds.js";
import { OwnerCaches } from "../../builds/owner-caches.js";
import { ProcessBuilds } from "../../builds/process-builds.js";
import { SandboxBuilds } from "../../builds/sandbox-builds.js";
import type { ServerConfig } from "../../config.js";
import { Cgroups } from "../../sandbox/cgroups.js";
import { CodeSlots } from "../../sandbox/code-slots.js";
import { SandboxNetwork } from "../../sandbox/network.js";
import { checkSandbox } from "../../sandbox/preflight.js";
import type { Executor } from "../executor.js";
import { ProcessExecutor } from "./process.js";
import { SandboxExecutor } from "./sandbox.js";

/** Host users for builds, one per owner: above the instances' range, so no build ever shares a user with one. */
const FIRST_BUILD_UID = 265_536;
const BUILD_UID_COUNT = 65_536;

/** Where instances run and where builds run: both sandboxed, or (`--sandbox none`) both plain processes. */
export interface Isolation {
  executor: Executor;
  builds: Builds;
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
  if (config.sandbox === "none") {
    return {
      executor: new ProcessExecutor(runDir),
      builds: new ProcessBuilds({ runDir, cachesDir: join(cacheDir, "owners"), timeoutMs: config.buildTimeoutMs }),
    };
  }
  const tools = await checkSandbox(100_000, [dataDir]);
  // One cgroup parent per data dir, so two servers on a machine never clean up each other's instances.
  const hash = createHash("sha256").update(dataDir).digest("hex");
  const cgroups = await Cgroups.open(`micros-${hash.slice(0, 10)}`);
  // Interface names must stay under 16 characters; the /16 is picked from the hash too.
  const octet = 100 + (Number.parseInt(hash.slice(4, 6), 16) % 100);
  const network = await SandboxNetwork.open(tools, `m${hash.slice(0, 4)}`, octet);
  const executor = new SandboxExecutor({
    runDir,
    tools,
    cgroups,
    network,
    slots: await CodeSlots.open(join(dataDir, "slots"), tools),
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
    firstUid: FIRST_BUILD_UID,
    uidCount: BUILD_UID_COUNT,
  });
  return { executor, builds };
}
