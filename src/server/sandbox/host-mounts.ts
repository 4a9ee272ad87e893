import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";

/**
 * Mounts the server makes on the host for a sandbox to bind. A sandbox's
 * /proc/self/mountinfo shows, for each of its mounts, the path of the mount's
 * root inside its filesystem: a bind of `<data-dir>/releases/<micro>/<release>`
 * would tell the app where the platform keeps its data and which ids it has.
 * These mounts are each the root of a filesystem of their own, so they show as
 * `/`.
 */

export interface MountTools {
  mount: string;
  umount: string;
}

// The source is the working folder ("."): the options the sandbox sees name no host path. An overlay without an
// upper layer needs two lower ones; the second, an empty folder, is an inherited file descriptor.
const VIEW = 'cd "$1" && exec 3<"$2" && exec "$3" -t overlay micros -o ro,nosuid,nodev,lowerdir=.:/proc/self/fd/3 "$4"';

async function run(file: string, args: string[], what: string): Promise<void> {
  const result = await runCommand(file, args, { cwd: "/", env: {}, timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      `Could not mount ${what} for a sandbox: ${result.output.trim() || `${file} failed`}`,
    );
  }
}

/**
 * A read-only view of the folder `source` at `target` (an overlay of it over
 * `empty`, which must stay an empty folder): to the sandbox, `micros / ro`.
 */
export function mountReadOnlyView(tools: MountTools, source: string, target: string, empty: string): Promise<void> {
  return run("/bin/sh", ["-c", VIEW, "micros-view", source, empty, tools.mount, target], "a read-only folder");
}

/**
 * A tmpfs at `target` of at most `bytes` and `inodes`, owned by `uid` and
 * closed to everyone else: room for a socket, not for a micro's data.
 */
export function mountSmallTmpfs(
  tools: MountTools,
  target: string,
  limits: { bytes: number; inodes: number; uid: number },
): Promise<void> {
  const options = `size=${limits.bytes},nr_inodes=${limits.inodes},mode=0700,uid=${limits.uid},gid=${limits.uid}`;
  return run(tools.mount, ["-t", "tmpfs", "-o", `nosuid,nodev,noexec,${options}`, "micros", target], "a small tmpfs");
}

/** Detaches the mount at `target` (lazily: a process the kernel is still tearing down may hold it). */
export async function unmount(tools: MountTools, target: string): Promise<void> {
  await runCommand(tools.umount, ["-l", target], { cwd: "/", env: {}, timeoutMs: 30_000 });
}
