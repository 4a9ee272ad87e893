import { chmod, lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar";
import type { DeployEvent } from "../../shared/api.js";
import { ERROR_CODES, MicrosError, toMicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { formatBytes } from "../../shared/format.js";
import type { Build, BuildOwner, Builds } from "../builds/builds.js";
import { readBack } from "../builds/read-back.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LogSink } from "../logs/log-sink.js";
import type { OperatorLog } from "../logs/operator-log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { InstallKind, Runtime } from "../runtimes/runtime.js";
import type { Micro } from "../store/micros.js";
import type { Release } from "../store/releases.js";
import type { Store } from "../store/store.js";
import { dependencyHashes, reuseInstalled, sameDependencies } from "./compose.js";
import { InstallCache } from "./install-cache.js";
import { buildManifest, type FileManifest, manifestFile, readManifest, writeManifest } from "./manifest.js";
import { FETCHING, type ReleaseFiles, releaseDir } from "./release-files.js";
import {
  CODE_DEPTH,
  CODE_ENTRIES,
  INSTALLED_DEPTH,
  INSTALLED_ENTRIES,
  NAME_BYTES,
  PATH_BYTES,
} from "./release-limits.js";
import { receiveUpload } from "./upload.js";

function describeInstall(kind: InstallKind): string {
  if (kind === "none") return "";
  if (kind === "reused") return ", dependencies unchanged";
  if (kind === "cached") return ", dependencies from the install cache";
  return `, dependencies installed with ${kind}`;
}

/**
 * What a tenant is told of a failure: their own mistakes as they are; a failure of the platform's (which may
 * name host paths) only as such, with the whole of it in the operator's log.
 */
function forTheTenant(error: MicrosError, tellOperator: (error: MicrosError) => void): MicrosError {
  if (ERROR_CODES[error.code].kind === "user" || error.code === "ERR_SHUTTING_DOWN") return error;
  tellOperator(error);
  return new MicrosError(
    error.code,
    "The deploy failed because of a problem on the server, not in the upload; the server's log says what. Deploy again, or tell the operator.",
  );
}

/** An entry that is a link or a folder would be followed at every start: only a regular file is served. */
async function checkEntry(appDir: string, entry: string): Promise<void> {
  const stats = await lstat(join(appDir, entry));
  if (!stats.isFile()) {
    throw new MicrosError(
      "ERR_MISSING_ENTRY",
      `The entry file ${entry} is ${stats.isSymbolicLink() ? "a link" : "not a regular file"}; make it a file of its own.`,
    );
  }
}

export interface DeployerOptions {
  store: Store;
  runtimes: RuntimeRegistry;
  instances: InstanceManager;
  logs: LogSink;
  /** The server's own log: failures of the platform's, not the upload's, are the operator's to see. */
  operator: OperatorLog;
  builds: Builds;
  /** Where releases are read from, and how a new one reaches the other nodes (with PostgreSQL). */
  files: ReleaseFiles;
  dataDir: string;
  maxUploadBytes: number;
  maxCodeBytes: number;
  keepReleases: number;
  /** Where deploys are counted and their builds timed. */
  metrics?: Metrics;
}

export interface DeployOptions {
  /**
   * Install the dependencies from scratch (`micros deploy purge-dependencies`): neither the base release's install
   * nor the install cache is used, and the new install replaces the cached one.
   */
  fresh?: boolean;
}

export interface DeployResult {
  release: Release;
  installOutput: string;
}

/**
 * Turns an uploaded archive into a live release. Nothing of the tenant's is
 * read or run on the host: the upload goes onto a build's own disk, the build
 * sandbox unpacks it and installs its dependencies, and the deployer reads the
 * finished tree back, checking every path without following links out of it.
 * Only then, once the release is published (with PostgreSQL, stored where every
 * node can fetch it), is the micro switched over, in one transaction. Any
 * failure leaves the previous release serving.
 */
export class Deployer {
  private readonly busy = new Set<string>();
  /** Deploys in progress, to cancel when the server stops. */
  private readonly running = new Map<AbortController, Promise<unknown>>();
  private closing = false;

  constructor(private readonly options: DeployerOptions) {}

  private releaseDir(microId: string, releaseId: string): string {
    return releaseDir(this.options.dataDir, microId, releaseId);
  }

  async deploy(
    micro: Micro,
    body: Readable,
    declaredLength: number | undefined,
    progress: (event: DeployEvent) => void = () => {},
    { fresh = false }: DeployOptions = {},
  ): Promise<DeployResult> {
    if (this.closing)
      throw new MicrosError("ERR_SHUTTING_DOWN", "The server is stopping; deploy again once it is back.");
    if (this.busy.has(micro.id)) {
      throw new MicrosError(
        "ERR_DEPLOY_IN_PROGRESS",
        `A deploy of ${micro.name} is already running; wait for it to finish.`,
      );
    }
    this.busy.add(micro.id);
    const controller = new AbortController();
    const work = this.build(micro, body, declaredLength, progress, controller.signal, fresh);
    this.running.set(
      controller,
      work.catch(() => {}),
    );
    try {
      return await work;
    } finally {
      this.running.delete(controller);
      this.busy.delete(micro.id);
    }
  }

  private async build(
    micro: Micro,
    body: Readable,
    declaredLength: number | undefined,
    progress: (event: DeployEvent) => void,
    signal: AbortSignal,
    fresh: boolean,
  ): Promise<DeployResult> {
    const { store, logs } = this.options;
    const releaseId = store.releases.newId();
    const target = this.releaseDir(micro.id, releaseId);
    const building = `${target}.building`;
    let build: Build | undefined;
    // The build is timed from the upload received: how long the client took to send it is not the build's.
    let received: number | undefined;
    const buildSeconds = () => (received === undefined ? undefined : (performance.now() - received) / 1000);
    try {
      const runtime = this.options.runtimes.get(micro.runtime);
      build = await this.options.builds.open(await this.ownerOf(micro), signal);
      progress({
        event: "received",
        bytes: await receiveUpload(body, build.uploadFile, this.options.maxUploadBytes, declaredLength),
      });
      received = performance.now();
      // A build may open a kept release by its id (to complete an upload of changes), never list them. An upload of
      // changes builds on the current release: on a node that did not build it, it is fetched first. A full upload
      // needs none, so one that cannot be fetched is no reason to fail it; an upload of changes then fails as one
      // on a release no longer kept.
      if (micro.currentReleaseId) await this.options.files.ready(micro, micro.currentReleaseId).catch(() => {});
      const microReleases = join(this.options.dataDir, "releases", micro.id);
      const unpacked = await build.unpack(
        {
          entries: CODE_ENTRIES,
          depth: CODE_DEPTH,
          nameBytes: NAME_BYTES,
          pathBytes: PATH_BYTES,
          codeBytes: this.options.maxCodeBytes,
        },
        (await exists(microReleases)) ? microReleases : undefined,
      );
      await mkdir(microReleases, { recursive: true, mode: 0o711 });
      const code = await readBack(build.appDir, building, {
        links: "inside",
        what: "the code",
        limits: { entries: CODE_ENTRIES, depth: CODE_DEPTH, bytes: this.options.maxCodeBytes },
      });
      const base = unpacked.base ? await this.baseRelease(micro, unpacked.base) : undefined;
      const manifest = await buildManifest(building, runtime.installedDir);
      await checkEntry(building, await runtime.findEntry(building));
      const install = await this.install(micro, runtime, build, building, manifest, base, progress, fresh);
      if (signal.aborted)
        throw new MicrosError("ERR_SHUTTING_DOWN", "The server is stopping, so the deploy was cancelled.");
      await writeManifest(target, manifest);
      const contentHash = await this.options.files.publish(building, manifest);
      await rename(building, target);
      const release = await store.releases.activate({
        id: releaseId,
        microId: micro.id,
        codeBytes: code.bytes,
        fileCount: Object.keys(manifest).length,
        install: install.kind,
        ...(contentHash ? { contentHash } : {}),
      });
      this.options.instances.retire(micro.id);
      logs.platform(
        micro.id,
        `release v${release.version} is live (${release.fileCount} files, ${formatBytes(code.bytes)}` +
          `${unpacked.base ? `, ${unpacked.uploaded} uploaded` : ""}${describeInstall(install.kind)})`,
      );
      await this.prune(micro.id);
      this.options.metrics?.deploy("ok", buildSeconds());
      return { release, installOutput: install.output };
    } catch (err) {
      const error = forTheTenant(toMicrosError(err), (internal) =>
        this.options.operator.error({ micro: micro.id, err: internal }, "a deploy failed on the platform's side"),
      );
      logs.platform(micro.id, `deploy failed, the previous release keeps serving: ${error.message}`);
      this.options.metrics?.deploy(error.code, buildSeconds());
      await rm(building, { recursive: true, force: true });
      await rm(manifestFile(target), { force: true });
      throw error;
    } finally {
      await build?.close();
    }
  }

  /**
   * Gives the release its dependencies, the cheapest way there is: the base release's own when the dependency
   * files did not change, the owner's cached install of the same lock file, or an install in the build sandbox.
   */
  private async install(
    micro: Micro,
    runtime: Runtime,
    build: Build,
    building: string,
    manifest: FileManifest,
    base: { dir: string; manifest: FileManifest } | undefined,
    progress: (event: DeployEvent) => void,
    fresh: boolean,
  ): Promise<{ kind: InstallKind; output: string }> {
    const installedDir = join(building, runtime.installedDir);
    const localPackages = await runtime.localPackages(building);
    if (
      !fresh &&
      base !== undefined &&
      sameDependencies(manifest, base.manifest, runtime.dependencyFiles, localPackages) &&
      (await reuseInstalled(base.dir, building, runtime.installedDir))
    )
      return { kind: "reused", output: "" };
    const key = await runtime.installKey(building);
    const cache = new InstallCache(join(this.options.dataDir, "cache", "installs", (await this.ownerOf(micro)).id));
    // A local package's files decide the install too: they are part of what the cached install was made from.
    const local = JSON.stringify(dependencyHashes(manifest, [], localPackages));
    const cacheKey = key === undefined ? undefined : cache.key(`${key}\0${local}`);
    if (!fresh && cacheKey && (await cache.restore(cacheKey, installedDir))) return { kind: "cached", output: "" };
    progress({ event: "installing" });
    const installed = await build.install({ language: runtime.language, python: runtime.interpreter }, (text) =>
      progress({ event: "output", text }),
    );
    const from = join(build.appDir, runtime.installedDir);
    if (!(await exists(from))) return { kind: installed.kind, output: installed.output };
    await readBack(from, installedDir, {
      links: "kept",
      what: "the installed dependencies",
      limits: { entries: INSTALLED_ENTRIES, depth: INSTALLED_DEPTH, bytes: this.options.maxCodeBytes },
    }).catch((err: unknown) => {
      throw toMicrosError(err).code === "ERR_PAYLOAD_TOO_LARGE"
        ? new MicrosError(
            "ERR_PAYLOAD_TOO_LARGE",
            `The installed dependencies take more than ${formatBytes(this.options.maxCodeBytes)}, the limit. Drop unused packages or move development tools to devDependencies.`,
            { details: { limitBytes: this.options.maxCodeBytes } },
          )
        : err;
    });
    if (cacheKey) await cache.store(cacheKey, installedDir, { replace: fresh });
    return { kind: installed.kind, output: installed.output };
  }

  /** Whose build a deploy is: the owner of the micro's project. */
  private async ownerOf(micro: Micro): Promise<BuildOwner> {
    const ownerId = (await this.options.store.projects.byId(micro.projectId))?.ownerId;
    const serial = ownerId === undefined ? undefined : await this.options.store.users.serial(ownerId);
    if (ownerId === undefined || serial === undefined) {
      throw new MicrosError("ERR_INTERNAL", `The micro ${micro.name} has no owner.`);
    }
    return { id: ownerId, serial };
  }

  /** The release an incremental upload builds on, with its files; it must be one of the micro's kept releases. */
  private async baseRelease(micro: Micro, releaseId: string): Promise<{ dir: string; manifest: FileManifest }> {
    const release = await this.options.store.releases.byId(releaseId);
    const dir = release?.microId === micro.id ? await this.options.files.ready(micro, releaseId) : undefined;
    const manifest = dir ? await readManifest(dir) : undefined;
    if (!dir || !manifest) {
      throw new MicrosError(
        "ERR_RELEASE_NOT_FOUND",
        `The upload builds on release ${releaseId}, which this micro no longer keeps. Deploy again with \`micros deploy --force\` to send every file.`,
      );
    }
    return { dir, manifest };
  }

  /** A kept release's code files, packed as they were deployed; undefined when it is not kept. */
  async archive(micro: Micro, releaseId: string): Promise<Readable | undefined> {
    const dir = await this.options.files.ready(micro, releaseId);
    const manifest = dir === undefined ? undefined : await readManifest(dir);
    if (!dir || !manifest) return undefined;
    const pack = tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(manifest).sort());
    // tar's Pack is a minipass stream; wrap it as a Node stream for the HTTP reply.
    return Readable.from(pack);
  }

  /** A kept release's code files and their hashes. */
  async files(micro: Micro, releaseId: string): Promise<FileManifest | undefined> {
    const dir = await this.options.files.ready(micro, releaseId);
    return dir === undefined ? undefined : readManifest(dir);
  }

  /** Removes every release of a deleted micro from disk. */
  async removeAll(microId: string): Promise<void> {
    await rm(join(this.options.dataDir, "releases", microId), { recursive: true, force: true });
  }

  /**
   * Removes what a deleted owner's builds left: their cached installs and their package caches (the sandbox's disk
   * image, or the plain folder without a sandbox). A later user given the same build user starts with none of it.
   */
  async removeOwner(ownerId: string): Promise<void> {
    const cache = join(this.options.dataDir, "cache");
    for (const path of [join("installs", ownerId), join("owners", ownerId), join("owners", `${ownerId}.img`)]) {
      await rm(join(cache, path), { recursive: true, force: true });
    }
  }

  /**
   * Removes what a server that stopped abruptly left: half-built releases (with their manifests and packs),
   * half-fetched ones, and the shared npm and pip caches of earlier versions, which any tenant's install could
   * write.
   */
  async cleanup(): Promise<void> {
    await rm(join(this.options.dataDir, "uploads"), { recursive: true, force: true });
    for (const legacy of ["node", "python"]) {
      await rm(join(this.options.dataDir, "cache", legacy), { recursive: true, force: true });
    }
    const releases = join(this.options.dataDir, "releases");
    await mkdir(releases, { recursive: true, mode: 0o700 });
    await chmod(releases, 0o700);
    for (const micro of await readdir(releases)) {
      for (const entry of await readdir(join(releases, micro))) {
        if (entry.endsWith(".building")) {
          await rm(join(releases, micro, entry), { recursive: true, force: true });
          await rm(manifestFile(join(releases, micro, entry.slice(0, -".building".length))), { force: true });
        } else if (entry.includes(".building.") || entry.includes(FETCHING)) {
          await rm(join(releases, micro, entry), { recursive: true, force: true });
        }
      }
    }
  }

  /** Cancels every deploy in progress and waits until each has removed what it made. */
  async close(): Promise<void> {
    this.closing = true;
    for (const controller of this.running.keys()) controller.abort();
    await Promise.all(this.running.values());
  }

  private async prune(microId: string): Promise<void> {
    for (const id of await this.options.store.releases.prune(microId, this.options.keepReleases)) {
      await rm(this.releaseDir(microId, id), { recursive: true, force: true });
      await rm(manifestFile(this.releaseDir(microId, id)), { force: true });
    }
  }
}
