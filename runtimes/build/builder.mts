/**
 * The builder: the one program the platform runs on a tenant's upload. It
 * runs inside the build sandbox (its own user, no capabilities, a disk and
 * limits of its own), reads its job from stdin, does it and answers on fd 3.
 * It imports nothing from the daemon.
 */
import { writeSync } from "node:fs";
import { install } from "./install.mjs";
import { type BuildJob, type BuildResult, RESULT_FD } from "./protocol.mjs";
import { unpack } from "./unpack.mjs";

async function readJob(): Promise<BuildJob> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as BuildJob;
}

const job = await readJob();
const result: BuildResult = job.step === "unpack" ? await unpack(job) : await install(job);
writeSync(RESULT_FD, `${JSON.stringify(result)}\n`);
