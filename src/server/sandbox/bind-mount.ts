import { mkdir, rmdir } from "node:fs/promises";
import { MicrosError } from "../../shared/errors.js";
import { runCommand } from "../util/run-command.js";

/**
 * Makes `source` appear at `target` (a bind mount, by root), so a sandbox's user can be given a folder whose
 * parents it could not pass through (the platform's install under /root, the releases folder). Returns how to
 * undo it.
 */
export async function bindMount(
  tools: { mount: string; umount: string },
  source: string,
  target: string,
): Promise<() => Promise<void>> {
  await mkdir(target, { recursive: true, mode: 0o755 });
  const result = await runCommand(tools.mount, ["--bind", source, target], { cwd: "/", env: {}, timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new MicrosError("ERR_SANDBOX_UNAVAILABLE", `Could not bind a folder for a build: ${result.output.trim()}`);
  }
  return async () => {
    await runCommand(tools.umount, ["-l", target], { cwd: "/", env: {}, timeoutMs: 30_000 });
    await rmdir(target).catch(() => {});
  };
}
