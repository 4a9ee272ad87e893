import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CHANGES_FILE, DEFAULT_CODE_LIMIT_BYTES, type DeployView } from "../shared/api.js";
import { MicrosError } from "../shared/errors.js";
import { formatBytes } from "../shared/format.js";
import { hashFile } from "../shared/hash.js";
import type { ApiClient } from "./api-client.js";
import { type CliContext, print, step } from "./context.js";
import { listFiles, packFiles } from "./pack.js";
import { deployProgress } from "./progress.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

interface Plan {
  /** The release the upload builds on; undefined for a full upload. */
  base: string | undefined;
  send: string[];
  deleted: string[];
}

/**
 * Compares the folder with what the server runs now (not with what this
 * folder last sent: another checkout may have deployed since), so only
 * changed files travel and nothing is wrongly "up to date".
 */
async function plan(api: ApiClient, microId: string, dir: string, files: string[], force: boolean): Promise<Plan> {
  if (force) return { base: undefined, send: files, deleted: [] };
  const current = await api.currentFiles(microId).catch((err: unknown) => {
    if (err instanceof MicrosError && err.code === "ERR_NO_RELEASE") return undefined;
    throw err;
  });
  if (!current) return { base: undefined, send: files, deleted: [] };
  const send: string[] = [];
  for (const file of files) {
    if (current.files[file] !== (await hashFile(join(dir, file)))) send.push(file);
  }
  const local = new Set(files);
  const deleted = Object.keys(current.files).filter((file) => !local.has(file));
  return { base: current.release, send, deleted };
}

/** Uploads every file of the folder as a new release. */
export async function deployEverything(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
): Promise<DeployView> {
  const files = await listFiles(dir);
  return upload(ctx, api, microId, dir, files, { base: undefined, send: files, deleted: [] });
}

/**
 * Uploads what changed since the release that serves now (everything with
 * `force`); undefined when nothing changed. Says what happens at each step.
 */
export async function deployChanges(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
  force: boolean,
): Promise<DeployView | undefined> {
  const files = await listFiles(dir);
  const changes = await plan(api, microId, dir, files, force);
  if (changes.base && changes.send.length === 0 && changes.deleted.length === 0) {
    step(ctx, `Everything is up to date: the release serving now has exactly these ${plural(files.length, "file")}.`);
    return undefined;
  }
  return upload(ctx, api, microId, dir, files, changes);
}

async function upload(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
  files: string[],
  { base, send, deleted }: Plan,
): Promise<DeployView> {
  let archive: Buffer;
  if (base) {
    // The changes file travels inside the archive, written beside the code only while packing.
    const changes = join(dir, CHANGES_FILE);
    await writeFile(changes, JSON.stringify({ base, deleted }));
    try {
      archive = await packFiles(dir, [...send, CHANGES_FILE]);
    } finally {
      await rm(changes, { force: true });
    }
    step(
      ctx,
      `Sending ${plural(send.length, "changed file")} (${files.length - send.length} unchanged, ${deleted.length} deleted; ${formatBytes(archive.length)} compressed).`,
    );
  } else {
    archive = await packFiles(dir, files);
    step(ctx, `Sending all ${plural(files.length, "file")} (${formatBytes(archive.length)} compressed).`);
  }
  if (archive.length > DEFAULT_CODE_LIMIT_BYTES) {
    // The server would refuse it too; saying so here saves sending it.
    throw new MicrosError(
      "ERR_PAYLOAD_TOO_LARGE",
      `The upload is ${formatBytes(archive.length)}, over the ${formatBytes(DEFAULT_CODE_LIMIT_BYTES)} limit for code. Leave large files out with .microsignore.`,
    );
  }
  step(ctx, `Uploading to ${api.host}...`);
  const progress = deployProgress(ctx);
  const result = await api.deploy(microId, archive, progress).finally(() => progress.finish());
  const install =
    {
      none: "no dependencies to install",
      reused: "dependencies unchanged, install reused",
      cached: "dependencies from the install cache",
    }[result.release.install] ?? `dependencies installed with ${result.release.install}`;
  step(ctx, `Release v${result.release.version} is live (${install}).`);
  return result;
}

export function printInstallOutputOnFailure(ctx: CliContext, details: Record<string, unknown> | undefined): void {
  const output = details?.output;
  if (typeof output === "string" && output.trim()) {
    print(ctx, "--- install output ---");
    print(ctx, output.trimEnd());
    print(ctx, "----------------------");
  }
}
