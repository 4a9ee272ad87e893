import { lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar";
import type { DeployEvent } from "../../shared/api.js";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";
import type { InstanceManager } from "../instances/manager.js";
import type { LogSink } from "../logs/log-sink.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { InstallResult } from "../runtimes/runtime.js";
import type { Micro } from "../store/micros.js";
import type { Release } from "../store/releases.js";
import type { Store } from "../store/store.js";
import { extractArchive, verifyArchive } from "./archive.js";
import { composeFromBase, reuseInstalled, sameDependencies, takeChanges } from "./compose.js";
import { buildManifest, type FileManifest, manifestFile, readManifest, writeManifest } from "./manifest.js";
import { receiveUpload } from "./upload.js";

function describeInstall(kind: InstallResult["kind"]): string {
  if (kind === "none") return "";
  if (kind === "reused") return ", dependencies unchanged";
  if (kind === "cached") return ", dependencies from the install cache";
  return `, dependencies installed with ${kind}`;
}

/** Bytes in the files under `dir` (links not followed). */
async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await lstat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Where a release's code and dependencies live on the host. */
export function releaseDir(dataDir: string, microId: string, releaseId: string): string {
  return join(dataDir, "releases", microId, releaseId);
}

export interface DeployerOptions {
  store: Store;
  runtimes: RuntimeRegistry;
  instances: InstanceManager;
  logs: LogSink;
  dataDir: string;
  maxUploadBytes: number;
  maxCodeBytes: number;
  installTimeoutMs: number;
  keepReleases: number;
}

export interface DeployResult {
  release: Release;
  installOutput: string;
}

/**
 * Turns an uploaded archive into a live release: receive, verify, unpack,
 * install dependencies, and only then switch the micro over in one
 * transaction. Any failure leaves the previous release serving.
 */
export class Deployer {
  private readonly busy = new Set<string>();

  constructor(private readonly options: DeployerOptions) {}

  private releaseDir(microId: string, releaseId: string): string {
    return releaseDir(this.options.dataDir, microId, releaseId);
  }

  async deploy(
    micro: Micro,
    body: Readable,
    declaredLength: number | undefined,
    progress: (event: DeployEvent) => void = () => {},
  ): Promise<DeployResult> {
    if (this.busy.has(micro.id)) {
      throw new MicrosError(
        "ERR_DEPLOY_IN_PROGRESS",
        `A deploy of ${micro.name} is already running; wait for it to finish.`,
      );
    }
    this.busy.add(micro.id);
    const { store, logs } = this.options;
    const releaseId = store.releases.newId();
    const upload = join(this.options.dataDir, "uploads", `${releaseId}.tar.gz`);
    const building = `${this.releaseDir(micro.id, releaseId)}.building`;
    try {
      await mkdir(join(this.options.dataDir, "uploads"), { recursive: true });
      progress({
        event: "received",
        bytes: await receiveUpload(body, upload, this.options.maxUploadBytes, declaredLength),
      });
      const stats = await verifyArchive(upload, this.options.maxCodeBytes);
      let codeBytes = 0;
      await mkdir(building, { recursive: true });
      await extractArchive(upload, building);
      const runtime = this.options.runtimes.get(micro.runtime);
      const changes = await takeChanges(building);
      const base = changes ? await this.baseRelease(micro.id, changes.base) : undefined;
      if (changes && base) {
        const uploaded = await buildManifest(building, runtime.installedDir);
        await composeFromBase(building, base.dir, base.manifest, uploaded, changes.deleted);
      }
      const manifest = await buildManifest(building, runtime.installedDir);
      codeBytes = await diskUsage(building);
      if (codeBytes > this.options.maxCodeBytes) {
        throw new MicrosError(
          "ERR_PAYLOAD_TOO_LARGE",
          `The code comes to ${formatBytes(codeBytes)}, over the ${formatBytes(this.options.maxCodeBytes)} limit for one release. Leave large files out with .microsignore.`,
          { details: { limitBytes: this.options.maxCodeBytes } },
        );
      }
      await runtime.findEntry(building);
      // Unchanged dependency files: the new release shares the base's install instead of running npm or pip.
      const reused =
        base !== undefined &&
        sameDependencies(manifest, base.manifest, runtime.dependencyFiles) &&
        (await reuseInstalled(base.dir, building, runtime.installedDir));
      if (!reused) progress({ event: "installing" });
      const install: InstallResult = reused
        ? { kind: "reused", output: "" }
        : await runtime.install(building, {
            cacheDir: join(this.options.dataDir, "cache", runtime.language),
            timeoutMs: this.options.installTimeoutMs,
            onOutput: (text) => progress({ event: "output", text }),
          });
      const installed = (await diskUsage(building)) - codeBytes;
      if (installed > this.options.maxCodeBytes) {
        throw new MicrosError(
          "ERR_PAYLOAD_TOO_LARGE",
          `The installed dependencies take ${formatBytes(installed)}, over the ${formatBytes(this.options.maxCodeBytes)} limit. Drop unused packages or move development tools to devDependencies.`,
          { details: { limitBytes: this.options.maxCodeBytes, foundBytes: installed } },
        );
      }
      await writeManifest(this.releaseDir(micro.id, releaseId), manifest);
      await rename(building, this.releaseDir(micro.id, releaseId));
      const release = store.releases.activate({
        id: releaseId,
        microId: micro.id,
        codeBytes,
        fileCount: Object.keys(manifest).length,
        install: install.kind,
      });
      this.options.instances.retire(micro.id);
      logs.platform(
        micro.id,
        `release v${release.version} is live (${release.fileCount} files, ${formatBytes(codeBytes)}` +
          `${changes ? `, ${stats.files} uploaded` : ""}${describeInstall(install.kind)})`,
      );
      await this.prune(micro.id);
      return { release, installOutput: install.output };
    } catch (err) {
      const error = toMicrosError(err);
      logs.platform(micro.id, `deploy failed, the previous release keeps serving: ${error.message}`);
      await rm(building, { recursive: true, force: true });
      throw error;
    } finally {
      await rm(upload, { force: true });
      this.busy.delete(micro.id);
    }
  }

  /** The release an incremental upload builds on, with its files; it must be one of the micro's kept releases. */
  private async baseRelease(microId: string, releaseId: string): Promise<{ dir: string; manifest: FileManifest }> {
    const release = this.options.store.releases.byId(releaseId);
    const dir = this.releaseDir(microId, releaseId);
    const manifest = release?.microId === microId ? await readManifest(dir) : undefined;
    if (!manifest) {
      throw new MicrosError(
        "ERR_RELEASE_NOT_FOUND",
        `The upload builds on release ${releaseId}, which this micro no longer keeps. Deploy again with \`micros deploy --force\` to send every file.`,
      );
    }
    return { dir, manifest };
  }

  /** A kept release's code files, packed as they were deployed; undefined when it is not kept. */
  async archive(microId: string, releaseId: string): Promise<Readable | undefined> {
    const manifest = await this.files(microId, releaseId);
    if (!manifest) return undefined;
    const pack = tar.c(
      { gzip: true, cwd: this.releaseDir(microId, releaseId), portable: true },
      Object.keys(manifest).sort(),
    );
    // tar's Pack is a minipass stream; wrap it as a Node stream for the HTTP reply.
    return Readable.from(pack);
  }

  /** A kept release's code files and their hashes. */
  files(microId: string, releaseId: string): Promise<FileManifest | undefined> {
    return readManifest(this.releaseDir(microId, releaseId));
  }

  /** Removes every release of a deleted micro from disk. */
  async removeAll(microId: string): Promise<void> {
    await rm(join(this.options.dataDir, "releases", microId), { recursive: true, force: true });
  }

  /** Removes uploads and half-built releases that a crashed server left behind. */
  async cleanup(): Promise<void> {
    await rm(join(this.options.dataDir, "uploads"), { recursive: true, force: true });
    const releases = join(this.options.dataDir, "releases");
    for (const micro of await readdir(releases).catch(() => [])) {
      for (const entry of await readdir(join(releases, micro))) {
        if (entry.endsWith(".building")) await rm(join(releases, micro, entry), { recursive: true, force: true });
      }
    }
  }

  private async prune(microId: string): Promise<void> {
    for (const id of this.options.store.releases.prune(microId, this.options.keepReleases)) {
      await rm(this.releaseDir(microId, id), { recursive: true, force: true });
      await rm(manifestFile(this.releaseDir(microId, id)), { force: true });
    }
  }
}
