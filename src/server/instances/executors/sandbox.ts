import { spawn } from "node:child_process";
import { chmod, chown, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex, Readable, Writable } from "node:stream";
import { formatBytes } from "../../../shared/format.js";
import type { CgroupLimits, Cgroups } from "../../sandbox/cgroups.js";
import { baseMounts, INSIDE } from "../../sandbox/mounts.js";
import type { SandboxNetwork } from "../../sandbox/network.js";
import type { SandboxTools } from "../../sandbox/preflight.js";
import { seccompFilter } from "../../sandbox/seccomp.js";
import { createTmpDisk } from "../../sandbox/tmp-disk.js";
import { runCommand } from "../../util/run-command.js";
import type { Executor, InstanceProcess, LaunchSpec } from "../executor.js";
import { waitForExit } from "./wait-for-exit.js";

/** Limits every instance gets alike; memory is per micro and comes with each launch. */
export interface SandboxLimits extends Omit<CgroupLimits, "memoryBytes"> {
  tmpBytes: number;
}

export interface SandboxOptions {
  runDir: string;
  tools: SandboxTools;
  cgroups: Cgroups;
  network: SandboxNetwork;
  limits: SandboxLimits;
}

const OOM_POLL_MS = 250;

// Joins the instance's cgroups before anything of the instance runs, then becomes the sandbox.
const ENTER_CGROUPS = 'for f in $CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; unset CGROUP_PROCS; exec "$@"';

/**
 * Runs each instance in a bubblewrap sandbox inside its own cgroups, as the
 * micro's own unprivileged host user: new user, PID, mount, network, IPC, UTS
 * and cgroup namespaces; a read-only root with only /usr and a few /etc files;
 * the release read-only at /app; a private /tmp; no capabilities, no new
 * privileges, no nested user namespaces.
 */
export class SandboxExecutor implements Executor {
  readonly name = "bubblewrap";

  private readonly seccomp = seccompFilter();
  private readonly teardowns = new Set<Promise<void>>();

  constructor(private readonly options: SandboxOptions) {}

  async launch(spec: LaunchSpec): Promise<InstanceProcess> {
    const { tools, limits } = this.options;
    const dir = join(this.options.runDir, spec.instanceId);
    const socketDir = join(dir, "sock");
    await mkdir(socketDir, { recursive: true });
    await chown(socketDir, spec.uid, spec.uid);
    await chmod(socketDir, 0o700);
    const cgroup = await this.options.cgroups.create(spec.instanceId, { ...limits, memoryBytes: spec.memoryBytes });
    const network = await this.options.network.attach().catch(async (err: unknown) => {
      await cgroup.destroy();
      throw err;
    });
    const tmp = await createTmpDisk(tools, dir, limits.tmpBytes, spec.uid).catch(async (err: unknown) => {
      await cgroup.destroy();
      await network.release();
      throw err;
    });

    const { file, args } = spec.command({ runtimeDir: INSIDE.runtime, appDir: INSIDE.app });
    const bwrapArgs = [
      "--unshare-all",
      // The network namespace is the one nsenter joined, with its veth to the host.
      "--share-net",
      "--unshare-user",
      "--disable-userns",
      "--die-with-parent",
      "--new-session",
      ...baseMounts(),
      "--ro-bind",
      spec.appDir,
      INSIDE.app,
      "--ro-bind",
      spec.runtimeDir,
      INSIDE.runtime,
      "--bind",
      socketDir,
      INSIDE.run,
      "--bind",
      tmp.dir,
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
    const privileges = [
      `--reuid=${spec.uid}`,
      `--regid=${spec.uid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
    ];
    const chain = [tools.nsenter, `--net=${network.nsPath}`, tools.setpriv, ...privileges, tools.bwrap, ...bwrapArgs];
    const child = spawn("/bin/sh", ["-c", ENTER_CGROUPS, "micros-sandbox", ...chain], {
      cwd: "/",
      env: { CGROUP_PROCS: cgroup.procsFiles.join(" "), PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe"],
    });
    (child.stdio as unknown as Writable[])[5]?.end(this.seccomp);

    const innerPid = readChildPid(child.stdio[4] as Readable);
    let outOfMemory = false;
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
      clearInterval(oomWatch);
      outOfMemory ||= (await cgroup.oomKills()) > 0;
      await cgroup.destroy();
      // Every process is gone: report the exit now, and let the slower teardown finish behind it.
      const teardown = (async () => {
        await network.release();
        await tmp.release();
        await rm(dir, { recursive: true, force: true });
      })();
      this.teardowns.add(teardown);
      teardown.finally(() => this.teardowns.delete(teardown));
      const reason = outOfMemory ? `ran out of memory (the limit is ${formatBytes(spec.memoryBytes)})` : undefined;
      return reason ? { ...status, reason } : status;
    });

    return {
      inside: { appDir: INSIDE.app, socketPath: join(INSIDE.run, "http.sock") },
      socketPath: join(socketDir, "http.sock"),
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
  }

  async close(): Promise<void> {
    await Promise.all(this.teardowns);
    await this.options.cgroups.close();
    await this.options.network.close();
    await rm(this.options.runDir, { recursive: true, force: true });
  }

  async cleanup(): Promise<void> {
    await this.options.cgroups.removeAll();
    // /tmp disks a crashed server left mounted: unmount before removing the folder.
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    for (const line of mounts.split("\n")) {
      const point = line.split(" ")[4];
      if (point?.startsWith(`${this.options.runDir}/`)) {
        await runCommand(this.options.tools.umount, ["-l", point], { cwd: "/", env: {}, timeoutMs: 30_000 });
      }
    }
    await rm(this.options.runDir, { recursive: true, force: true });
    await mkdir(this.options.runDir, { recursive: true, mode: 0o711 });
  }
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
