import { readFile } from "node:fs/promises";
import { runCommand } from "../util/run-command.js";

/** Detaches every mount at or under `dir`, deepest first: what a server that crashed left mounted there. */
export async function unmountUnder(dir: string, umount: string): Promise<void> {
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  const points = mounts
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
  for (const point of points.reverse()) {
    await runCommand(umount, ["-l", point], { cwd: "/", env: {}, timeoutMs: 30_000 });
  }
}
