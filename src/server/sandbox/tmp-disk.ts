import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";

export interface TmpDisk {
  /** The mounted filesystem, to bind at /tmp. */
  dir: string;
  release(): Promise<void>;
}

export interface TmpDiskTools {
  mkfs: string;
  mount: string;
  umount: string;
}

// ext4 keeps a few percent for its own tables: size the image so the promised space is all usable.
const OVERHEAD = 1.05;

/**
 * A /tmp of its own for an instance, on disk rather than in memory: a sparse
 * ext4 image on a loop device (about 25 ms to make). On tmpfs, filling /tmp
 * would count against the memory limit and end in an OOM kill; on disk it ends
 * in ENOSPC, and the memory budget stays whole.
 */
export async function createTmpDisk(tools: TmpDiskTools, parent: string, bytes: number, uid: number): Promise<TmpDisk> {
  const image = join(parent, "tmp.img");
  const dir = join(parent, "tmp");
  const handle = await open(image, "w", 0o600);
  await handle.truncate(Math.ceil(bytes * OVERHEAD));
  await handle.close();
  const run = async (file: string, args: string[]) => {
    const result = await runCommand(file, args, { cwd: "/", env: {}, timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      throw new MicrosError(
        "ERR_SANDBOX_UNAVAILABLE",
        `Could not make the instance's /tmp: ${file} failed: ${result.output.trim()}`,
      );
    }
  };
  await run(tools.mkfs, [
    "-q",
    "-F",
    "-O",
    "^has_journal",
    "-E",
    `nodiscard,lazy_itable_init=1,root_owner=${uid}:${uid}`,
    "-m",
    "0",
    image,
  ]);
  await mkdir(dir, { recursive: true });
  await run(tools.mount, ["-o", "loop,nosuid,nodev", image, dir]);
  return {
    dir,
    release: async () => {
      const unmounted = await runCommand(tools.umount, [dir], { cwd: "/", env: {}, timeoutMs: 30_000 });
      // Something still holds it (a process the kernel is still tearing down): detach it lazily.
      if (unmounted.exitCode !== 0)
        await runCommand(tools.umount, ["-l", dir], { cwd: "/", env: {}, timeoutMs: 30_000 });
      await rm(image, { force: true });
    },
  };
}
