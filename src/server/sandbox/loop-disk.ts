import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { runCommand } from "../util/run-command.js";

export interface LoopDisk {
  /** The mounted filesystem. */
  dir: string;
  /** Unmounts it; the image is removed too unless it is kept for next time. */
  release(): Promise<void>;
}

export interface LoopDiskTools {
  mkfs: string;
  mount: string;
  umount: string;
}

export interface LoopDiskSpec {
  /** The image file; when `keep` is set and it already exists, it is mounted as it is. */
  image: string;
  dir: string;
  bytes: number;
  /** Owner of the filesystem's root. */
  uid: number;
  /** Bytes per inode: lower for trees of many small files (node_modules). */
  bytesPerInode?: number;
  keep?: boolean;
}

// ext4 keeps a few percent for its own tables: size the image so the promised space is all usable.
const OVERHEAD = 1.05;

async function run(file: string, args: string[]): Promise<void> {
  const result = await runCommand(file, args, { cwd: "/", env: {}, timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      `Could not make a sandbox disk: ${file} failed: ${result.output.trim()}`,
    );
  }
}

/**
 * A filesystem of its own for a sandbox, on disk rather than in memory: a
 * sparse ext4 image on a loop device (about 25 ms to make). On tmpfs, filling
 * it would count against the memory limit and end in an OOM kill; on disk it
 * ends in ENOSPC at the size it was given, and the host's disk is untouched.
 */
export async function createLoopDisk(tools: LoopDiskTools, spec: LoopDiskSpec): Promise<LoopDisk> {
  if (!(spec.keep && (await exists(spec.image)))) {
    const handle = await open(spec.image, "w", 0o600);
    await handle.truncate(Math.ceil(spec.bytes * OVERHEAD));
    await handle.close();
    await run(tools.mkfs, [
      "-q",
      "-F",
      "-O",
      "^has_journal",
      "-E",
      `nodiscard,lazy_itable_init=1,root_owner=${spec.uid}:${spec.uid}`,
      "-m",
      "0",
      ...(spec.bytesPerInode ? ["-i", String(spec.bytesPerInode)] : []),
      spec.image,
    ]);
  }
  await mkdir(spec.dir, { recursive: true });
  await run(tools.mount, ["-o", "loop,nosuid,nodev", spec.image, spec.dir]);
  return {
    dir: spec.dir,
    release: async () => {
      const unmounted = await runCommand(tools.umount, [spec.dir], { cwd: "/", env: {}, timeoutMs: 30_000 });
      // Something still holds it (a process the kernel is still tearing down): detach it lazily.
      if (unmounted.exitCode !== 0)
        await runCommand(tools.umount, ["-l", spec.dir], { cwd: "/", env: {}, timeoutMs: 30_000 });
      if (!spec.keep) await rm(spec.image, { force: true });
    },
  };
}

/** An instance's /tmp: what a process writes there fills this disk, not the host's or the memory limit. */
export function createTmpDisk(tools: LoopDiskTools, parent: string, bytes: number, uid: number): Promise<LoopDisk> {
  return createLoopDisk(tools, { image: join(parent, "tmp.img"), dir: join(parent, "tmp"), bytes, uid });
}
