import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { exists } from "../../shared/exists.js";
import { linkTree } from "../util/link-tree.js";

/** How many distinct installs to keep; the least recently stored go first. */
const KEEP = 20;

/**
 * Installed dependencies kept by the hash of the lock file that produced them,
 * so another micro (or release) with the same lock file skips the install.
 * One cache per owner: an install script can make an install differ from what
 * its lock file says, so one owner's install is never handed to another.
 * Entries are hard-linked in and out of releases the platform wrote, never
 * modified, and never reachable from a build.
 */
export class InstallCache {
  constructor(private readonly dir: string) {}

  key(decidedBy: string): string {
    return createHash("sha256").update(decidedBy).digest("hex");
  }

  /** Links the cached install into `target`; false when there is none. */
  async restore(key: string, target: string): Promise<boolean> {
    const entry = join(this.dir, key);
    return (await exists(entry)) && linkTree(entry, target);
  }

  /** Keeps an install; `replace` puts it in place of the one kept already (a purge: that one may be broken). */
  async store(key: string, source: string, { replace = false }: { replace?: boolean } = {}): Promise<void> {
    const entry = join(this.dir, key);
    if (!replace && (await exists(entry))) return;
    await mkdir(this.dir, { recursive: true });
    const staging = `${entry}.${process.pid}.tmp`;
    if (await linkTree(source, staging)) {
      const old = `${entry}.${process.pid}.old.tmp`;
      if (replace) await rename(entry, old).catch(() => {});
      await rename(staging, entry).catch(() => rm(staging, { recursive: true, force: true }));
      await rm(old, { recursive: true, force: true });
    }
    await this.evict();
  }

  private async evict(): Promise<void> {
    const entries = (await readdir(this.dir)).filter((name) => !name.endsWith(".tmp"));
    if (entries.length <= KEEP) return;
    const dated = await Promise.all(
      entries.map(async (name) => ({ name, mtime: (await stat(join(this.dir, name))).mtimeMs })),
    );
    dated.sort((a, b) => a.mtime - b.mtime);
    for (const { name } of dated.slice(0, dated.length - KEEP)) {
      await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }
}
