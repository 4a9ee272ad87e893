import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";

export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** Relative CPU weight on cgroup v2's scale (1-10000, 100 is the default share). */
  cpuWeight: number;
}

const V1_CONTROLLERS = ["memory", "pids", "cpu"] as const;

/** Counts a key in a cgroup's `key value` file (memory.events, memory.oom_control). */
async function counter(file: string, key: string): Promise<number> {
  const text = await readFile(file, "utf8").catch(() => "");
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

/**
 * The platform's own cgroups, under one parent per server, on cgroup v1
 * (one hierarchy per controller) or v2 (one unified tree). bubblewrap has no
 * cgroup support, so the platform writes the files itself.
 */
export class Cgroups {
  private constructor(
    readonly version: "v1" | "v2",
    private readonly root: string,
    private readonly parent: string,
  ) {}

  /** Finds the cgroup layout and prepares the parent, or says what is missing. */
  static async open(parent: string, root = "/sys/fs/cgroup"): Promise<Cgroups> {
    if (await exists(join(root, "cgroup.controllers"))) {
      const available = (await readFile(join(root, "cgroup.controllers"), "utf8")).split(/\s+/);
      const missing = ["memory", "pids", "cpu"].filter((name) => !available.includes(name));
      if (missing.length > 0) {
        throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `cgroup v2 lacks the ${missing.join(", ")} controller(s).`);
      }
      await writeFile(join(root, "cgroup.subtree_control"), "+memory +pids +cpu").catch(() => {});
      await mkdir(join(root, parent), { recursive: true });
      await writeFile(join(root, parent, "cgroup.subtree_control"), "+memory +pids +cpu");
      return new Cgroups("v2", root, parent);
    }
    for (const controller of V1_CONTROLLERS) {
      if (!(await exists(join(root, controller)))) {
        throw new MicrosError(
          "ERR_SANDBOX_UNAVAILABLE",
          `cgroup v1 has no ${controller} hierarchy at ${root}/${controller}.`,
        );
      }
      await mkdir(join(root, controller, parent), { recursive: true });
    }
    return new Cgroups("v1", root, parent);
  }

  private dirs(name: string): string[] {
    return this.version === "v2"
      ? [join(this.root, this.parent, name)]
      : V1_CONTROLLERS.map((controller) => join(this.root, controller, this.parent, name));
  }

  async create(name: string, limits: CgroupLimits): Promise<Cgroup> {
    const dirs = this.dirs(name);
    for (const dir of dirs) await mkdir(dir, { recursive: true });
    const [first] = dirs as [string];
    if (this.version === "v2") {
      await writeFile(join(first, "memory.max"), String(limits.memoryBytes));
      await writeFile(join(first, "memory.swap.max"), "0").catch(() => {});
      // One OOM kill takes the whole instance down, not just its largest process.
      await writeFile(join(first, "memory.oom.group"), "1");
      await writeFile(join(first, "pids.max"), String(limits.pids));
      await writeFile(join(first, "cpu.weight"), String(limits.cpuWeight));
    } else {
      const [memory, pids, cpu] = dirs as [string, string, string];
      await writeFile(join(memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
      // RAM plus swap: exists only when the kernel accounts swap.
      await writeFile(join(memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes)).catch(() => {});
      await writeFile(join(pids, "pids.max"), String(limits.pids));
      await writeFile(join(cpu, "cpu.shares"), String(Math.max(2, Math.round((limits.cpuWeight * 1024) / 100))));
    }
    return new Cgroup(this.version, dirs);
  }

  /** Removes the (empty) parent itself. */
  async close(): Promise<void> {
    await this.removeAll();
    for (const dir of this.parentDirs()) await rmdir(dir).catch(() => {});
  }

  private parentDirs(): string[] {
    return this.version === "v2"
      ? [join(this.root, this.parent)]
      : V1_CONTROLLERS.map((controller) => join(this.root, controller, this.parent));
  }

  /** Empties and removes every cgroup under the parent: what a crashed server left behind. */
  async removeAll(): Promise<void> {
    const names = new Set<string>();
    for (const dir of this.parentDirs()) {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (entry.isDirectory()) names.add(entry.name);
      }
    }
    for (const name of names) await new Cgroup(this.version, this.dirs(name)).destroy();
  }
}

export class Cgroup {
  constructor(
    private readonly version: "v1" | "v2",
    private readonly dirs: string[],
  ) {}

  /** The files a process writes its pid to, to enter this cgroup in every hierarchy. */
  get procsFiles(): string[] {
    return this.dirs.map((dir) => join(dir, "cgroup.procs"));
  }

  /** Changes the memory limit: a sandbox prepared ahead of need gets its micro's limit when it is assigned. */
  async setMemory(bytes: number): Promise<void> {
    const [memory] = this.dirs as [string];
    if (this.version === "v2") {
      await writeFile(join(memory, "memory.max"), String(bytes));
      return;
    }
    // v1 refuses a RAM limit above the RAM+swap one and the reverse: raise in one order, lower in the other.
    const ram = join(memory, "memory.limit_in_bytes");
    const both = join(memory, "memory.memsw.limit_in_bytes");
    const current = Number((await readFile(ram, "utf8")).trim());
    const order = bytes > current ? [both, ram] : [ram, both];
    for (const file of order)
      await writeFile(file, String(bytes)).catch((err: NodeJS.ErrnoException) => {
        if (file === ram || err.code !== "ENOENT") throw err;
      });
  }

  /** How many times the kernel's OOM killer has struck in this cgroup. */
  oomKills(): Promise<number> {
    const [memory] = this.dirs as [string];
    return this.version === "v2"
      ? counter(join(memory, "memory.events"), "oom_kill")
      : counter(join(memory, "memory.oom_control"), "oom_kill");
  }

  /** How many times the pids limit refused a new process or thread. */
  pidsLimitHits(): Promise<number> {
    const dir = (this.version === "v2" ? this.dirs[0] : this.dirs[1]) as string;
    return counter(join(dir, "pids.events"), "max");
  }

  private async pids(): Promise<number[]> {
    const text = await readFile(this.procsFiles[0] as string, "utf8").catch(() => "");
    return text.split("\n").filter(Boolean).map(Number);
  }

  /** Kills every process in the cgroup, then removes it; retries while the kernel finishes the teardown. */
  async destroy(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (this.version === "v2") {
        await writeFile(join(this.dirs[0] as string, "cgroup.kill"), "1").catch(() => {});
      } else {
        // v1 has no cgroup.kill; the pids limit keeps a fork loop from outrunning this.
        for (const pid of await this.pids()) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      }
      let removed = true;
      for (const dir of this.dirs) {
        await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") removed = false;
        });
      }
      if (removed) return;
      await sleep(20);
    }
  }
}
