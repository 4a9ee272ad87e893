import { mkdir, readdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { createLoopDisk, type LoopDisk, type LoopDiskTools } from "../sandbox/loop-disk.js";

/** Past this share of its disk, an owner's cache is emptied once no build uses it: it refills from the registry. */
const FULL_SHARE = 0.8;

interface Mounted {
  users: number;
  disk: Promise<LoopDisk>;
}

/**
 * npm's and pip's caches, one per owner: a build can write only into its own
 * owner's, so no tenant can plant a package another tenant's build installs.
 * Each is a disk image of its own (what a build writes there is bounded like
 * the rest of its disk), mounted while that owner's builds run, owned by the
 * owner's build user.
 */
export class OwnerCaches {
  private readonly mounted = new Map<string, Mounted>();
  /** Caches being unmounted: the next build of that owner waits for it. */
  private readonly closing = new Map<string, Promise<void>>();

  constructor(
    private readonly tools: LoopDiskTools,
    /** Where the images are kept (the platform's own, closed to others). */
    private readonly imagesDir: string,
    /** Where they are mounted while in use. */
    private readonly mountsDir: string,
    private readonly bytes: number,
  ) {}

  /** The owner's cache, mounted; call `release` when the build is done with it. */
  async acquire(owner: { id: string; uid: number }): Promise<{ dir: string; release(): Promise<void> }> {
    // Only the server passes here: a build gets its own owner's cache bound into its own folder.
    await mkdir(this.mountsDir, { recursive: true, mode: 0o700 });
    while (this.closing.has(owner.id)) await this.closing.get(owner.id);
    let entry = this.mounted.get(owner.id);
    if (!entry) {
      entry = {
        users: 0,
        disk: createLoopDisk(this.tools, {
          image: join(this.imagesDir, `${owner.id}.img`),
          dir: join(this.mountsDir, owner.id),
          bytes: this.bytes,
          uid: owner.uid,
          bytesPerInode: 4096,
          keep: true,
        }),
      };
      this.mounted.set(owner.id, entry);
    }
    entry.users++;
    const mounted = entry;
    const disk = await mounted.disk.catch((err: unknown) => {
      this.mounted.delete(owner.id);
      throw err;
    });
    let released = false;
    return {
      dir: disk.dir,
      release: async () => {
        if (released) return;
        released = true;
        if (--mounted.users > 0) return;
        this.mounted.delete(owner.id);
        const closing = emptyWhenFull(disk.dir).then(() => disk.release());
        this.closing.set(owner.id, closing);
        await closing.finally(() => this.closing.delete(owner.id));
      },
    };
  }
}

async function emptyWhenFull(dir: string): Promise<void> {
  const stats = await statfs(dir).catch(() => undefined);
  if (!stats || stats.bavail > stats.blocks * (1 - FULL_SHARE)) return;
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}
