import { spawn } from "node:child_process";
import { chown, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import { formatBytes } from "../../../shared/format.js";
import { INSIDE_PLATFORM_FILES, trustEnvironment } from "../../data/sandbox-endpoint.js";
import type { Cgroup, CgroupLimits, Cgroups } from "../../sandbox/cgroups.js";
import type { CodeSlot, CodeSlots } from "../../sandbox/code-slots.js";
import { mountReadOnlyView, mountSmallTmpfs, unmount } from "../../sandbox/host-mounts.js";
import { sandboxCommand } from "../../sandbox/launch.js";
import { createTmpDisk } from "../../sandbox/loop-disk.js";
import { baseMounts, INSIDE } from "../../sandbox/mounts.js";
import type { InstanceNetwork, SandboxNetwork } from "../../sandbox/network.js";
import type { SandboxTools } from "../../sandbox/preflight.js";
import { seccompFilter } from "../../sandbox/seccomp.js";
import type { ServerBlock } from "../../sandbox/server-block.js";
import { UidRange } from "../../sandbox/uids.js";
import { unmountUnder } from "../../sandbox/unmount.js";
import { newId } from "../../store/ids.js";
import type { Executor, InstanceProcess, LaunchSpec, RunnerSpec } from "../executor.js";
import { waitForExit } from "./wait-for-exit.js";
import { type Warm, WarmPool } from "./warm-pool.js";

/** Limits every instance gets alike; memory is per micro and comes with each launch. */
export interface SandboxLimits extends CgroupLimits {
  tmpBytes: number;
}

export interface SandboxOptions {
  /** Where each sandbox gets a folder of its own (the folder must let others pass through, not list). */
  runDir: string;
  /** This server's block on the host: the executor takes its instance uids, and gives it up when closed. */
  block: ServerBlock;
  tools: SandboxTools;
  cgroups: Cgroups;
  network: SandboxNetwork;
  slots: CodeSlots;
  /** Defaults for a sandbox made ahead of need; its memory limit changes to its micro's when assigned. */
  limits: SandboxLimits;
  /** Sandboxes kept started per runtime, waiting for a micro (0: every sandbox is made on demand). */
  warmPool: number;
  /** Where a failure to prepare a sandbox ahead of need is reported. */
  onWarmError(runtime: string, err: unknown): void;
  /**
   * The platform's files for instances (`hosts` naming Deta's hosts at the services address, its CA and a bundle
   * with it): seen read-only at /etc/micros, `hosts` as /etc/hosts, and the CA trusted by Node and Python.
   */
  platformFiles?: string;
}

const OOM_POLL_MS = 250;

/** The socket folder's room: the socket takes none, so a micro cannot store anything there. */
const SOCKET_FOLDER = { bytes: 16 * 1024, inodes: 8 };

/**
 * Runs each instance in a bubblewrap sandbox inside its own cgroups, as a host
 * user of its own: new user, PID, mount, network, IPC, UTS and cgroup
 * namespaces; a read-only root with only /usr and a few /etc files; the
 * release read-only at /app; a private /tmp; no capabilities, no new
 * privileges, no nested user namespaces.
 *
 * Making a sandbox (cgroups, network namespace, /tmp disk, bubblewrap, the
 * runner's own start) takes longer than most apps take to load, so a few are
 * made per runtime before any request needs them, with an empty /app. A launch
 * takes one, binds the release's code into it and sends the runner its app. A
 * sandbox serves one instance of one micro and is never reused.
 */
export class SandboxExecutor implements Executor {
  readonly name = "bubblewrap";

  private readonly seccomp = seccompFilter();
  private readonly teardowns = new Set<Promise<void>>();
  private readonly uids: UidRange;
  private readonly runners = new Map<string, RunnerSpec>();
  private readonly pool: WarmPool<Sandbox>;

  constructor(private readonly options: SandboxOptions) {
    this.uids = new UidRange(options.block.instanceUids.first, options.block.instanceUids.count);
    this.pool = new WarmPool(
      options.warmPool,
      (runtime) => this.prepare(this.runners.get(runtime) as RunnerSpec),
      options.onWarmError,
    );
  }

  prewarm(runners: readonly RunnerSpec[]): void {
    for (const runner of runners) this.runners.set(runner.runtime, runner);
    this.pool.keep(runners.map((runner) => runner.runtime));
  }

  warmPool(): { runtime: string; ready: number; preparing: number }[] {
    return this.pool.counts().map(({ key, ready, preparing }) => ({ runtime: key, ready, preparing }));
  }

  async launch(spec: LaunchSpec): Promise<InstanceProcess> {
    const began = performance.now();
    const warm = await this.pool.take(spec.runner.runtime);
    const sandbox = warm ?? (await this.prepare(spec.runner));
    const prepared = performance.now();
    try {
      await sandbox.assign(spec.appDir, spec.memoryBytes);
    } catch (err) {
      await sandbox.discard();
      throw err;
    }
    const launchTimes = { sandboxMs: prepared - began, codeMs: performance.now() - prepared };
    return { ...sandbox.process, preparedAhead: warm !== undefined, launchTimes };
  }

  /**
   * Makes a sandbox with the runtime's runner started in it, waiting for its app. Everything it binds is a mount
   * in a folder of its own that only its user may enter (`<run>/<name>`, mode 0700), and each mount is the root
   * of a filesystem, so the sandbox's mount table names no host path: the runner and (later) the release as
   * read-only overlays, the socket folder a tiny tmpfs, /tmp a disk image.
   */
  private async prepare(runner: RunnerSpec): Promise<Sandbox> {
    const { tools, limits } = this.options;
    const name = newId(10);
    const dir = join(this.options.runDir, name);
    const uid = this.uids.take();
    const acquired: (() => Promise<void>)[] = [async () => this.uids.give(uid)];
    const undo = async () => {
      for (const release of [...acquired].reverse()) await release();
    };
    try {
      await mkdir(dir, { mode: 0o700 });
      acquired.push(() => rm(dir, { recursive: true, force: true }));
      await chown(dir, uid, uid);
      // The second, empty layer of the read-only views.
      const empty = join(dir, "empty");
      await mkdir(empty, { mode: 0o500 });
      const socketDir = join(dir, "sock");
      await mkdir(socketDir);
      await mountSmallTmpfs(tools, socketDir, { ...SOCKET_FOLDER, uid });
      acquired.push(() => unmount(tools, socketDir));
      const runtimeDir = join(dir, "runtime");
      await mkdir(runtimeDir);
      await mountReadOnlyView(tools, runner.runtimeDir, runtimeDir, empty);
      acquired.push(() => unmount(tools, runtimeDir));
      let platformDir: string | undefined;
      if (this.options.platformFiles) {
        platformDir = join(dir, "platform");
        await mkdir(platformDir);
        await mountReadOnlyView(tools, this.options.platformFiles, platformDir, empty);
        acquired.push(() => unmount(tools, platformDir as string));
      }
      const slot = await this.options.slots.create(name, join(dir, "app"), empty);
      acquired.push(() => slot.release());
      const cgroup = await this.options.cgroups.create(name, limits);
      acquired.push(() => cgroup.destroy());
      const network = await this.options.network.attach();
      acquired.push(() => network.release());
      const tmp = await createTmpDisk(tools, dir, limits.tmpBytes, uid);
      acquired.push(() => tmp.release());
      const parts = { uid, socketDir, runtimeDir, platformDir, slotDir: slot.dir, tmpDir: tmp.dir, cgroup, network };
      return this.start(runner, parts, slot, undo);
    } catch (err) {
      await undo();
      throw err;
    }
  }

  private start(
    runner: RunnerSpec,
    parts: {
      uid: number;
      socketDir: string;
      runtimeDir: string;
      platformDir: string | undefined;
      slotDir: string;
      tmpDir: string;
      cgroup: Cgroup;
      network: InstanceNetwork;
    },
    slot: CodeSlot,
    undo: () => Promise<void>,
  ): Sandbox {
    const { tools } = this.options;
    const { uid, cgroup } = parts;
    const { file, args } = runner.command(INSIDE.runtime);
    // Deta's hosts resolve to the platform's services address, and its CA is trusted, as the runner starts.
    const platform = parts.platformDir
      ? [
          "--ro-bind",
          parts.platformDir,
          INSIDE_PLATFORM_FILES,
          "--ro-bind",
          join(parts.platformDir, "hosts"),
          "/etc/hosts",
          ...Object.entries(trustEnvironment()).flatMap(([name, value]) => ["--setenv", name, value]),
        ]
      : [];
    const bwrapArgs = [
      "--unshare-all",
      // The network namespace is the one nsenter joined, with its veth to the host.
      "--share-net",
      "--unshare-user",
      "--disable-userns",
      "--die-with-parent",
      "--new-session",
      ...baseMounts(),
      // Empty until the sandbox is assigned; the release then arrives here through the slot's propagation.
      "--ro-bind",
      parts.slotDir,
      INSIDE.app,
      "--ro-bind",
      parts.runtimeDir,
      INSIDE.runtime,
      "--bind",
      parts.socketDir,
      INSIDE.run,
      "--bind",
      parts.tmpDir,
      INSIDE.tmp,
      "--size",
      String(64 * 1024 * 1024),
      "--tmpfs",
      "/dev/shm",
      "--hostname",
      "micro",
      "--chdir",
      INSIDE.app,
      "--clearenv",
      "--setenv",
      "PATH",
      "/usr/local/bin:/usr/bin:/bin",
      "--setenv",
      "HOME",
      INSIDE.tmp,
      "--setenv",
      "TMPDIR",
      INSIDE.tmp,
      "--setenv",
      "NODE_ENV",
      "production",
      ...platform,
      "--info-fd",
      "4",
      "--seccomp",
      "5",
      "--remount-ro",
      "/",
      "--",
      file,
      ...args,
    ];
    const command = sandboxCommand(tools, {
      uid,
      procsFiles: cgroup.procsFiles,
      netns: parts.network.nsPath,
      bwrapArgs,
    });
    const child = spawn(command.file, command.args, {
      cwd: "/",
      env: command.env,
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe"],
    });
    (child.stdio as unknown as Writable[])[5]?.end(this.seccomp);
    // A sandbox discarded before it had an instance has nobody listening on its pipes when they break.
    for (const stream of child.stdio) stream?.on("error", () => {});

    const innerPid = readChildPid(child.stdio[4] as Readable);
    let outOfMemory = false;
    let memoryBytes = this.options.limits.memoryBytes;
    let alive = true;
    const kill = () => {
      innerPid.then((pid) => signal(pid ?? child.pid, "SIGKILL"));
    };
    // cgroup v1 OOM-kills one process, not the instance: when it strikes, end the whole instance.
    const oomWatch = setInterval(async () => {
      if ((await cgroup.oomKills()) > 0) {
        outOfMemory = true;
        kill();
      }
    }, OOM_POLL_MS);
    const exited = waitForExit(child).then(async (status) => {
      alive = false;
      clearInterval(oomWatch);
      outOfMemory ||= (await cgroup.oomKills()) > 0;
      await cgroup.destroy();
      // Every process is gone: report the exit now, and let the slower teardown finish behind it.
      const teardown = undo();
      this.teardowns.add(teardown);
      teardown.finally(() => this.teardowns.delete(teardown));
      const reason = outOfMemory ? `ran out of memory (the limit is ${formatBytes(memoryBytes)})` : undefined;
      return reason ? { ...status, reason } : status;
    });

    const process: Omit<InstanceProcess, "preparedAhead" | "launchTimes"> = {
      inside: { appDir: INSIDE.app, socketPath: join(INSIDE.run, "http.sock") },
      socketPath: join(parts.socketDir, "http.sock"),
      stdout: child.stdout as Readable,
      stderr: child.stderr as Readable,
      control: child.stdio[3] as Duplex,
      exited,
      terminate: () => {
        // The sandbox's PID 1 is bubblewrap's init, which does not pass signals on: ask the app itself.
        innerPid.then(async (pid) => {
          const app = pid === undefined ? undefined : await firstChild(pid);
          if (app === undefined) kill();
          else signal(app, "SIGTERM");
        });
      },
      kill,
    };
    return {
      process,
      get alive() {
        return alive;
      },
      async assign(appDir, bytes) {
        memoryBytes = bytes;
        await Promise.all([cgroup.setMemory(bytes), slot.fill(appDir)]);
      },
      async discard() {
        kill();
        await exited;
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
    await Promise.all(this.teardowns);
    await this.options.cgroups.close();
    await this.options.network.close();
    await this.options.slots.close();
    await rm(this.options.runDir, { recursive: true, force: true });
    this.options.block.release();
  }

  async cleanup(): Promise<void> {
    await this.options.cgroups.removeAll();
    // /tmp disks a crashed server left mounted: unmount before removing the folder.
    await unmountUnder(this.options.runDir, this.options.tools.umount);
    await rm(this.options.runDir, { recursive: true, force: true });
    // Sandboxes' users pass through to their own folders (0700 each), but cannot list it.
    await mkdir(this.options.runDir, { recursive: true, mode: 0o711 });
  }
}

/** A sandbox with its runner started, before and after it is given a micro's code. */
interface Sandbox extends Warm {
  readonly process: Omit<InstanceProcess, "preparedAhead" | "launchTimes">;
  /** Binds the release at /app and sets the micro's memory limit. */
  assign(appDir: string, memoryBytes: number): Promise<void>;
}

/** Killing the sandbox's PID 1 tears down its whole PID namespace at once. */
function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function firstChild(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  const first = text.trim().split(/\s+/)[0];
  return first ? Number(first) : undefined;
}

/** bubblewrap reports the host PID of the sandbox's PID 1 as JSON on its info fd. */
function readChildPid(info: Readable): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = "";
    info.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const match = /"child-pid":\s*(\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    info.once("close", () => resolve(undefined));
    info.once("error", () => resolve(undefined));
  });
}
