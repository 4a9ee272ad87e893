import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ServerConfig } from "../../config.js";
import { Cgroups } from "../../sandbox/cgroups.js";
import { CodeSlots } from "../../sandbox/code-slots.js";
import { SandboxNetwork } from "../../sandbox/network.js";
import { checkSandbox } from "../../sandbox/preflight.js";
import type { Executor } from "../executor.js";
import { ProcessExecutor } from "./process.js";
import { SandboxExecutor } from "./sandbox.js";

/** Builds the executor the config asks for, after checking this machine can run it. */
export async function createExecutor(
  config: ServerConfig,
  dataDir: string,
  onWarmError: (runtime: string, err: unknown) => void,
): Promise<Executor> {
  const runDir = join(dataDir, "run");
  if (config.sandbox === "none") return new ProcessExecutor(runDir);
  const tools = await checkSandbox(100_000, [dataDir]);
  // One cgroup parent per data dir, so two servers on a machine never clean up each other's instances.
  const hash = createHash("sha256").update(dataDir).digest("hex");
  const cgroups = await Cgroups.open(`micros-${hash.slice(0, 10)}`);
  // Interface names must stay under 16 characters; the /16 is picked from the hash too.
  const octet = 100 + (Number.parseInt(hash.slice(4, 6), 16) % 100);
  const network = await SandboxNetwork.open(tools, `m${hash.slice(0, 4)}`, octet);
  return new SandboxExecutor({
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
}
