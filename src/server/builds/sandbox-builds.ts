import { spawn } from "node:child_process";
import { chmod, chown, mkdir, rm, statfs, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { ArchiveLimits, BuildJob } from "../../../runtimes/build/protocol.mjs";
import { MicrosError } from "../../shared/errors.js";
import { bindMount } from "../sandbox/bind-mount.js";
import type { Cgroup, Cgroups } from "../sandbox/cgroups.js";
import { sandboxCommand } from "../sandbox/launch.js";
import { createLoopDisk, type LoopDisk } from "../sandbox/loop-disk.js";
import { baseMounts } from "../sandbox/mounts.js";
import type { SandboxNetwork } from "../sandbox/network.js";
import type { SandboxTools } from "../sandbox/preflight.js";
import { seccompFilter } from "../sandbox/seccomp.js";
import { newId } from "../store/ids.js";
import { registryEnv } from "./build-env.js";
import {
  BUILDER_DIR,
  BUILDER_FILE,
  diskLimit,
  installed,
  type LimitHit,
  memoryLimit,
  processLimit,
  runBuilder,
  stepOutcome,
  unpacked,
} from "./builder-step.js";
import type { Build, BuildLimits, BuildOwner, Builds, Installed, Unpacked } from "./builds.js";
import type { OwnerCaches } from "./owner-caches.js";
import { RegistryHosts } from "./registry-hosts.js";

/** Where things appear inside a build sandbox. */
const INSIDE = {
  builder: "/opt/micros/build",
  modules: "/opt/micros/node_modules",
  app: "/app",
  upload: "/in",
  releases: "/releases",
  cache: "/cache",
  home: "/home/build",
  tmp: "/tmp",
} as const;

const UPLOAD = "upload.tar.gz";
/** Builds write many small files (node_modules): more inodes than ext4's default. */
const BYTES_PER_INODE = 4096;
/** A disk this close to full when a step failed is why it failed. */
const FULL_BYTES = 4 * 1024 * 1024;

/** The folder holding the packages the builder imports (tar, esbuild): the platform's own node_modules. */
function platformModules(): string {
  const entry = createRequire(import.meta.url).resolve("tar");
  return entry.slice(0, entry.lastIndexOf("/node_modules/") + "/node_modules".length);
}

export interface SandboxBuildsOptions {
  runDir: string;
  tools: SandboxTools;
  cgroups: Cgroups;
  network: SandboxNetwork;
  caches: OwnerCaches;
  limits: BuildLimits;
  /** The host users builds run as: one per owner, `firstUid` + the owner's serial, never an instance's. */
  firstUid: number;
  uidCount: number;
}

/**
 * Builds in a sandbox like an instance's, and as strict: bubblewrap with new
 * namespaces, the host user of the build's owner (never root, never an
 * instance's), no capabilities, the seccomp filter, a read-only root with only
 * /usr (compilers and Python included) and a few /etc files, and cgroups that
 * cap memory, processes and CPU share. Everything a build writes lands on a
 * disk image of its own (the release being built, /tmp, its home) or in its
 * owner's package cache, each with a size; its network reaches registries
 * outside but nothing of the host, of other sandboxes or link-local addresses;
 * and it has a deadline. Unpacking runs with no network at all.
 */
export class SandboxBuilds implements Builds {
  private readonly seccomp = seccompFilter();
  private readonly registries = new RegistryHosts();

  constructor(private readonly options: SandboxBuildsOptions) {}

  async open(buildOwner: BuildOwner, signal: AbortSignal): Promise<Build> {
    if (buildOwner.serial >= this.options.uidCount) {
      throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `No build user is left for owner ${buildOwner.id}.`);
    }
    const owner = { id: buildOwner.id, uid: this.options.firstUid + buildOwner.serial };
    const name = `build-${newId(10)}`;
    const builds = join(this.options.runDir, "builds");
    await mkdir(builds, { recursive: true, mode: 0o711 });
    // The build's own folder, which only its user may enter: everything its sandbox binds is mounted in here.
    const dir = join(builds, name);
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, owner.uid, owner.uid);
    const undo: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
    const close = async () => {
      for (const step of undo.splice(0).reverse()) await step();
    };
    try {
      const disk = await createLoopDisk(this.options.tools, {
        image: join(builds, `${name}.img`),
        dir: join(dir, "disk"),
        bytes: this.options.limits.diskBytes,
        uid: owner.uid,
        bytesPerInode: BYTES_PER_INODE,
      });
      undo.push(() => disk.release());
      // Wherever Micros is installed (under /root, say), the build's user reaches the builder here.
      undo.push(await bindMount(this.options.tools, BUILDER_DIR, join(dir, "builder")));
      undo.push(await bindMount(this.options.tools, platformModules(), join(dir, "node_modules")));
      for (const part of ["app", "tmp", "home"]) {
        await mkdir(join(disk.dir, part));
        await chown(join(disk.dir, part), owner.uid, owner.uid);
        await chmod(join(disk.dir, part), 0o700);
      }
      await mkdir(join(disk.dir, "in"), { mode: 0o755 });
      const context = {
        name,
        dir,
        disk,
        owner,
        signal,
        deadline: Date.now() + this.options.limits.timeoutMs,
      };
      return new SandboxBuild(this, context, this.options.limits.timeoutMs, close);
    } catch (err) {
      await close();
      throw err;
    }
  }

  /** Runs one builder step in a fresh sandbox on the build's disk. */
  async run(
    build: BuildContext,
    job: BuildJob,
    options: { releasesDir?: string; network: boolean; cache: boolean; onOutput?: (text: string) => void },
  ): Promise<{ end: Awaited<ReturnType<typeof runBuilder>>; diagnose: () => Promise<LimitHit | undefined> }> {
    const { tools, limits } = this.options;
    const undo: (() => Promise<unknown>)[] = [];
    try {
      const cgroup: Cgroup = await this.options.cgroups.create(`${build.name}-${job.step}`, limits);
      undo.push(() => cgroup.destroy());
      const network = options.network ? await this.options.network.attach() : undefined;
      if (network) undo.push(() => network.release());
      const ownerCache = options.cache ? await this.options.caches.acquire(build.owner) : undefined;
      if (ownerCache) undo.push(() => ownerCache.release());
      const cache = ownerCache ? join(build.dir, "cache") : undefined;
      if (ownerCache && cache) undo.push(await bindMount(tools, ownerCache.dir, cache));
      const releases = options.releasesDir ? join(build.dir, "releases") : undefined;
      if (options.releasesDir && releases) undo.push(await bindMount(tools, options.releasesDir, releases));
      // A step with the network finds the registries even while the host's DNS falters (see RegistryHosts).
      const hosts = network ? join(build.dir, `hosts-${job.step}`) : undefined;
      if (hosts) await writeFile(hosts, await this.registries.hostsFile(), { mode: 0o644 });
      const bwrapArgs = [
        "--unshare-all",
        ...(network ? ["--share-net"] : []),
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        ...baseMounts(),
        ...(hosts ? ["--ro-bind", hosts, "/etc/hosts"] : []),
        "--ro-bind",
        join(build.dir, "builder"),
        INSIDE.builder,
        "--ro-bind",
        join(build.dir, "node_modules"),
        INSIDE.modules,
        ...(releases ? ["--ro-bind", releases, INSIDE.releases] : []),
        "--bind",
        join(build.disk.dir, "app"),
        INSIDE.app,
        "--bind",
        join(build.disk.dir, "tmp"),
        INSIDE.tmp,
        "--bind",
        join(build.disk.dir, "home"),
        INSIDE.home,
        ...(job.step === "unpack" ? ["--ro-bind", join(build.disk.dir, "in"), INSIDE.upload] : []),
        ...(cache ? ["--bind", cache, INSIDE.cache] : []),
        "--hostname",
        "build",
        "--chdir",
        INSIDE.app,
        "--clearenv",
        ...Object.entries({
          PATH: "/usr/local/bin:/usr/bin:/bin",
          HOME: INSIDE.home,
          TMPDIR: INSIDE.tmp,
          LANG: "C.UTF-8",
          ...registryEnv(),
        }).flatMap(([key, value]) => ["--setenv", key, value]),
        "--seccomp",
        "5",
        "--remount-ro",
        "/",
        "--",
        process.execPath,
        join(INSIDE.builder, BUILDER_FILE),
      ];
      const command = sandboxCommand(tools, {
        uid: build.owner.uid,
        procsFiles: cgroup.procsFiles,
        ...(network ? { netns: network.nsPath } : {}),
        bwrapArgs,
      });
      const child = spawn(command.file, command.args, {
        cwd: "/",
        env: command.env,
        stdio: ["pipe", "pipe", "pipe", "pipe", "ignore", "pipe"],
      });
      (child.stdio as unknown as (Writable | null)[])[5]?.end(this.seccomp);
      const end = await runBuilder(child, job, {
        timeLeftMs: build.deadline - Date.now(),
        signal: build.signal,
        // Every process of the step is in its cgroup: kill them all, whatever they did to their process tree.
        kill: () => void cgroup.destroy(),
        ...(options.onOutput ? { onOutput: options.onOutput } : {}),
      });
      const hits = { oom: await cgroup.oomKills(), pids: await cgroup.pidsLimitHits() };
      const diskFree = await freeBytes(build.disk.dir);
      const cacheFree = ownerCache ? await freeBytes(ownerCache.dir) : Number.POSITIVE_INFINITY;
      const diagnose = async (): Promise<LimitHit | undefined> => {
        // A fork bomb also runs out of memory on its way: the process limit is the one it was stopped by.
        if (hits.pids > 0) return processLimit(limits.pids);
        if (hits.oom > 0) return memoryLimit(limits.memoryBytes);
        if (diskFree < FULL_BYTES) return diskLimit(limits.diskBytes, "its disk");
        if (cacheFree < FULL_BYTES) return diskLimit(limits.cacheBytes, "its owner's package cache");
        return undefined;
      };
      return { end, diagnose };
    } finally {
      for (const step of undo.reverse()) await step();
    }
  }
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir).catch(() => undefined);
  return stats ? stats.bavail * stats.bsize : Number.POSITIVE_INFINITY;
}

/** One build: its disk, whose it is, and its deadline across every step. */
interface BuildContext {
  name: string;
  /** The build's own folder on the host, for its disk and mount points. */
  dir: string;
  disk: LoopDisk;
  owner: { id: string; uid: number };
  signal: AbortSignal;
  deadline: number;
}

class SandboxBuild implements Build {
  readonly uploadFile: string;
  readonly appDir: string;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly builds: SandboxBuilds,
    private readonly context: BuildContext,
    private readonly timeoutMs: number,
    private readonly release: () => Promise<void>,
  ) {
    this.uploadFile = join(context.disk.dir, "in", UPLOAD);
    this.appDir = join(context.disk.dir, "app");
  }

  async unpack(limits: ArchiveLimits, releasesDir: string | undefined): Promise<Unpacked> {
    const { end, diagnose } = await this.builds.run(
      this.context,
      {
        step: "unpack",
        archive: `${INSIDE.upload}/${UPLOAD}`,
        app: INSIDE.app,
        releases: releasesDir ? INSIDE.releases : null,
        limits,
      },
      { network: false, cache: false, ...(releasesDir ? { releasesDir } : {}) },
    );
    return unpacked(await stepOutcome("unpack", end, this.timeoutMs, diagnose));
  }

  async install(
    runtime: { language: "node" | "python"; python: string },
    onOutput: (text: string) => void,
  ): Promise<Installed> {
    const { end, diagnose } = await this.builds.run(
      this.context,
      { step: "install", language: runtime.language, app: INSIDE.app, cache: INSIDE.cache, python: runtime.python },
      { network: true, cache: true, onOutput },
    );
    return installed(await stepOutcome("install", end, this.timeoutMs, diagnose), end.output);
  }

  close(): Promise<void> {
    this.closed ??= this.release();
    return this.closed;
  }
}
