/**
 * Memory: what micros cost while they sleep, and what an awake one costs
 * beyond its app. The real server gets 100 micros (a tiny plain Node handler,
 * no dependencies), deployed through the CLI a few at a time; once none is
 * running, the daemon's RSS is read, against its RSS right after start with
 * no micro (the baseline, same run). Then one micro is woken: its instance
 * cgroup's memory use is compared with the same app's RSS bare on the host.
 * Sleeping micros must leave no process and no cgroup behind.
 *
 *   npm run bench:memory [-- --micros 100]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type BenchServer,
  BIN,
  freePort,
  ROOT,
  serverHasOption,
  startServer,
  timeToFirstByte,
  writeResult,
} from "./lib.js";

const MICROS = Number(process.argv[process.argv.indexOf("--micros") + 1]) || 100;
/** CLI deploys at once: the machine has two cores, and each deploy is a CLI process plus the daemon's work. */
const CONCURRENCY = 4;
const MB = 1024 * 1024;

const APP = `// A micro with no dependencies: the smallest thing an instance can serve.
module.exports = (req, res) => res.end("hello\\n");
`;

const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** Resident memory of a process, in bytes: all of it, or only its anonymous pages (`RssAnon`: heap, stacks). */
function rss(pid: number, field: "VmRSS" | "RssAnon" = "VmRSS"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no ${field} for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Every process below `pid`, at any depth. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const child of parents.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** The server's cgroup parent in the memory hierarchy (one per data dir, named from its hash: see choose.ts). */
function memoryParent(dataDir: string): { dir: string; version: "v1" | "v2" } {
  const name = `micros-${createHash("sha256").update(dataDir).digest("hex").slice(0, 10)}`;
  return existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? { dir: join("/sys/fs/cgroup", name), version: "v2" }
    : { dir: join("/sys/fs/cgroup/memory", name), version: "v1" };
}

async function cgroupsUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
}

/** A cgroup's memory use, as the kernel charges it, and its anonymous (process) and file (cache) parts. */
function cgroupMemory(dir: string, version: "v1" | "v2"): { usage: number; anon: number; file: number } {
  const stat = readFileSync(join(dir, "memory.stat"), "utf8");
  const field = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
  return version === "v1"
    ? {
        usage: Number(readFileSync(join(dir, "memory.usage_in_bytes"), "utf8")),
        anon: field("total_rss"),
        file: field("total_cache"),
      }
    : { usage: Number(readFileSync(join(dir, "memory.current"), "utf8")), anon: field("anon"), file: field("file") };
}

async function running(server: BenchServer): Promise<number> {
  const { micros } = await server.api<{ micros: { instances: unknown[] }[] }>("/v1/micros");
  return micros.reduce((sum, micro) => sum + micro.instances.length, 0);
}

async function untilAsleep(server: BenchServer): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await running(server)) > 0) {
    if (Date.now() > deadline) throw new Error("micros still running after a minute");
    await new Promise((done) => setTimeout(done, 200));
  }
}

const settle = () => new Promise((done) => setTimeout(done, 2000));

// Sandboxes prepared ahead are not any micro's: without them, whatever is left while all sleep is a leak.
const server = await startServer([
  "--idle-timeout",
  "2s",
  ...(serverHasOption("--warm-pool") ? ["--warm-pool", "0"] : []),
]);
const bare: ChildProcess[] = [];
try {
  await settle();
  const baseline = rss(server.pid);

  const dirs: string[] = [];
  for (let i = 0; i < MICROS; i++) {
    const dir = join(server.work, "apps", `mem-${String(i).padStart(3, "0")}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "index.js"), APP);
    dirs.push(dir);
  }
  const started = performance.now();
  const queue = [...dirs];
  const deployOne = async (): Promise<void> => {
    for (let dir = queue.shift(); dir; dir = queue.shift()) {
      await promisify(execFile)(process.execPath, [BIN, "new"], { cwd: dir, env: server.env });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, deployOne));
  const deploySeconds = (performance.now() - started) / 1000;
  await untilAsleep(server);
  await settle();
  const withMicros = rss(server.pid);
  const { dir: parent, version } = memoryParent(server.dataDir);
  const asleep = { processes: descendants(server.pid).length, cgroups: (await cgroupsUnder(parent)).length };

  // One micro awake: what its sandbox is charged, against the same app bare on the host.
  await timeToFirstByte(server.port, `mem-000.localhost:${server.port}`);
  const [cgroup, ...others] = await cgroupsUnder(parent);
  if (!cgroup || others.length > 0) throw new Error(`expected one instance cgroup under ${parent}`);
  const instance = cgroupMemory(cgroup, version);
  const procs = readFileSync(join(cgroup, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  const instanceRss = procs.reduce((sum, pid) => sum + rss(pid), 0);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, "bench", "bare-node.mjs"), dirs[0] as string, "index.js", String(port)],
    {
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_ENV: "production" },
      stdio: "ignore",
    },
  );
  bare.push(child);
  await timeToFirstByte(port, "127.0.0.1", "/", true);
  const bareRss = rss(child.pid as number);
  const bareAnon = rss(child.pid as number, "RssAnon");
  child.kill("SIGKILL");

  await untilAsleep(server);
  await settle();
  const afterWake = { processes: descendants(server.pid).length, cgroups: (await cgroupsUnder(parent)).length };

  const result = {
    micros: MICROS,
    deploySeconds: Math.round(deploySeconds * 10) / 10,
    daemonRssMb: {
      baseline: mb(baseline),
      withMicros: mb(withMicros),
      perMicroKb: Math.round((withMicros - baseline) / MICROS / 1024),
    },
    asleep: { ...asleep, afterWake },
    instance: {
      cgroupMb: mb(instance.usage),
      anonMb: mb(instance.anon),
      fileMb: mb(instance.file),
      processes: procs.length,
      processesRssMb: mb(instanceRss),
      bareRssMb: mb(bareRss),
      bareAnonMb: mb(bareAnon),
      // Like for like: the sandbox's processes against the bare one, and what the cgroup is charged for them
      // (anonymous pages) against the bare app's own. The node binary's pages are shared, charged to neither.
      beyondAppRssMb: mb(instanceRss - bareRss),
      beyondAppAnonMb: mb(instance.anon - bareAnon),
    },
  };
  console.log(
    `daemon RSS: ${result.daemonRssMb.baseline} MB with no micro | ${result.daemonRssMb.withMicros} MB with ${MICROS} asleep (${result.daemonRssMb.perMicroKb} KB each) | target < 150 MB: ${withMicros < 150 * MB ? "met" : "missed"}`,
  );
  const none = (counts: { processes: number; cgroups: number }) => counts.processes === 0 && counts.cgroups === 0;
  console.log(
    `asleep: ${asleep.processes} processes, ${asleep.cgroups} cgroups; after one woke and slept again: ${afterWake.processes} processes, ${afterWake.cgroups} cgroups | a sleeping micro costs no memory: ${none(asleep) && none(afterWake) ? "yes" : "NO"}`,
  );
  console.log(
    `one awake: cgroup charged ${result.instance.cgroupMb} MB (anon ${result.instance.anonMb}, file ${result.instance.fileMb}), ${procs.length} processes with RSS ${result.instance.processesRssMb} MB | bare app RSS ${result.instance.bareRssMb} MB (anon ${result.instance.bareAnonMb}) | beyond the app: RSS +${result.instance.beyondAppRssMb} MB, anon +${result.instance.beyondAppAnonMb} MB`,
  );
  console.log(`deployed ${MICROS} micros in ${result.deploySeconds} s (${CONCURRENCY} at a time)`);
  await writeResult("memory", {
    scenario: "daemon RSS with micros asleep vs none; an awake instance's cgroup vs the same app bare",
    cgroups: version,
    ...result,
  });
  if (!none(asleep) || !none(afterWake)) process.exitCode = 1;
} finally {
  for (const child of bare) child.kill("SIGKILL");
  await server.close();
}
