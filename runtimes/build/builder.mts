/**
 * The builder: the one program the platform runs on a tenant's upload. It
 * runs inside the build sandbox (its own user, no capabilities, a disk and
 * limits of its own), reads its job from stdin, does it and answers on fd 3.
 * It imports nothing from the daemon.
 */
import { writeSync } from "node:fs";
import { type BuildJob, type BuildResult, RESULT_FD } from "./protocol.mjs";

async function readJob(): Promise<BuildJob> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as BuildJob;
}

const job = await readJob();
// Each step loads only what it uses: unpacking is on every deploy's path, the bundler only on installs.
const result: BuildResult =
  job.step === "unpack"
    ? await (await import("./unpack.mjs")).unpack(job)
    : await (await import("./install.mjs")).install(job);
writeSync(RESULT_FD, `${JSON.stringify(result)}\n`);
