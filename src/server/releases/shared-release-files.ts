import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { exists } from "../../shared/exists.js";
import type { SharedBlobs } from "../blobs/shared-blobs.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import type { Micro } from "../store/micros.js";
import type { Releases } from "../store/releases.js";
import { type FileManifest, writeManifest } from "./manifest.js";
import { FETCHING, type ReleaseFiles, releaseDir } from "./release-files.js";
import { CODE_ENTRIES, INSTALLED_ENTRIES } from "./release-limits.js";
import { PACKED_TREE, packRelease } from "./release-pack.js";
import { type UnpackLimits, unpackRelease } from "./release-unpack.js";

/**
 * How recent a release folder on disk may be and still be left alone by sweep although no row names it: a deploy
 * on this node puts the folder in place just before it writes the row.
 */
const UNRECORDED_MS = 60 * 60 * 1000;

export interface SharedReleaseFilesOptions {
  dataDir: string;
  blobs: SharedBlobs;
  releases: Pick<Releases, "byId" | "list">;
  runtimes: RuntimeRegistry;
  /** The most a release's code, and its installed dependencies, may take (each). */
  maxCodeBytes: number;
  /** The clock, injectable so tests need not wait for a folder to age. */
  now?: () => number;
}

/**
 * Releases every node of a cluster can start: the node that builds one packs it into a shared blob before its row
 * is written (so no node sees a release it cannot fetch), and a node that needs a release it does not have fetches
 * the blob and unpacks it beside the final folder, renaming it into place when it is whole. The unpacked tree is
 * what the builder's read-back left, down to modes and owner, and it is checked as that read-back checks a build.
 */
export class SharedReleaseFiles implements ReleaseFiles {
  /** Fetches under way, by release: concurrent starts of one release fetch it once. */
  private readonly fetching = new Map<string, Promise<string | undefined>>();
  private readonly now: () => number;
  /** What a fetched release may hold: as much as a build may leave, code and installed dependencies. */
  private readonly limits: UnpackLimits;

  constructor(private readonly options: SharedReleaseFilesOptions) {
    this.now = options.now ?? Date.now;
    this.limits = { entries: CODE_ENTRIES + INSTALLED_ENTRIES, bytes: 2 * options.maxCodeBytes };
  }

  async ready(micro: Pick<Micro, "id" | "runtime">, releaseId: string): Promise<string | undefined> {
    const dir = releaseDir(this.options.dataDir, micro.id, releaseId);
    // A release folder is only ever renamed into place whole, so one that is there is ready.
    if (await exists(dir)) return dir;
    let fetching = this.fetching.get(releaseId);
    if (!fetching) {
      fetching = this.fetch(micro, releaseId, dir).finally(() => this.fetching.delete(releaseId));
      this.fetching.set(releaseId, fetching);
    }
    return fetching;
  }

  async publish(dir: string, manifest: FileManifest): Promise<string> {
    const packed = `${dir}.tar.gz`;
    try {
      await packRelease(dir, manifest, packed);
      return (await this.options.blobs.put(packed)).hash;
    } finally {
      await rm(packed, { force: true });
    }
  }

  /**
   * Removes this node's copies of releases no row names any more: pruned by a deploy on another node, or of a micro
   * deleted there. Returns how many.
   */
  async sweep(): Promise<number> {
    const root = join(this.options.dataDir, "releases");
    let removed = 0;
    for (const microId of await readdir(root)) {
      const folder = join(root, microId);
      const kept = new Set((await this.options.releases.list(microId)).map((release) => release.id));
      for (const name of await readdir(folder)) {
        const releaseId = name.split(".")[0] as string;
        // Scratch folders of builds and fetches under way are theirs to remove.
        if (kept.has(releaseId) || name.endsWith(".building") || name.includes(".building.") || name.includes(FETCHING))
          continue;
        const stats = await lstat(join(folder, name)).catch(() => undefined);
        if (!stats || this.now() - stats.ctimeMs < UNRECORDED_MS) continue;
        await rm(join(folder, name), { recursive: true, force: true });
        if (!name.includes(".")) removed++;
      }
      // The folder of a micro with no release at all (deleted on another node), once empty.
      if (kept.size === 0) await rmdir(folder).catch(() => {});
    }
    return removed;
  }

  private async fetch(micro: Pick<Micro, "id" | "runtime">, releaseId: string, dir: string) {
    const release = await this.options.releases.byId(releaseId);
    if (!release || release.microId !== micro.id || !release.contentHash) return undefined;
    const packed = await this.options.blobs.local(release.contentHash);
    if (!packed) return undefined;
    await mkdir(dirname(dir), { recursive: true, mode: 0o711 });
    const scratch = `${dir}${FETCHING}${randomBytes(6).toString("hex")}`;
    await mkdir(scratch, { mode: 0o700 });
    try {
      const installedDir = this.options.runtimes.get(micro.runtime).installedDir;
      const manifest = await unpackRelease(packed, scratch, installedDir, this.limits);
      // The manifest first: a folder in place is a release whole, manifest included.
      await writeManifest(dir, manifest);
      await rename(join(scratch, PACKED_TREE), dir);
      return dir;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
