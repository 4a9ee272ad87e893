import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CHANGES_FILE, DEFAULT_CODE_LIMIT_BYTES, type DeployView } from "../shared/api.js";
import { MicrosError } from "../shared/errors.js";
import { formatBytes } from "../shared/format.js";
import { hashFile } from "../shared/hash.js";
import type { ApiClient } from "./api-client.js";
import { type CliContext, step } from "./context.js";
import { type FolderScan, packFiles, scanFolder } from "./pack.js";
import { deployProgress } from "./progress.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A few paths by name, the rest counted. */
function some(paths: string[], shown = 5): string {
  const rest = paths.length - shown;
  return rest > 0 ? `${paths.slice(0, shown).join(", ")} and ${rest} more` : paths.join(", ");
}

const isHiddenPath = (path: string) => path.split("/").some((part) => part.startsWith("."));

export interface UploadOptions {
  /** Send every file, not only those that changed. */
  force?: boolean;
  /** Install the dependencies from scratch: neither the serving release's install nor the install cache is reused. */
  fresh?: boolean;
  /** Say what was left out that the user may not expect (default: yes); watch says it at its first deploy only. */
  reportSkipped?: boolean;
}

/**
 * Says what a deploy leaves out that the user may not expect: hidden files an earlier version of Micros uploaded
 * (`removed`: those the release serving now still has), and how `.detaignore` was read.
 */
function reportSkipped(ctx: CliContext, scan: FolderScan, removed: string[]): void {
  for (const note of scan.notes) step(ctx, note);
  if (scan.hidden.length > 0) {
    step(
      ctx,
      `Skipped ${plural(scan.hidden.length, "hidden file")} (${some(scan.hidden)}): hidden files are not uploaded; a ! line in .microsignore sends one.`,
    );
  }
  if (removed.length > 0) {
    step(
      ctx,
      `The release serving now has ${plural(removed.length, "hidden file")} (${some(removed)}); the new release leaves ${removed.length === 1 ? "it" : "them"} out, and earlier releases keep ${removed.length === 1 ? "it" : "them"} until they are pruned.`,
    );
  }
}

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

/** Uploads every file of the folder as a new release (`fresh`: with its dependencies installed from scratch). */
export async function deployEverything(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
  options: Pick<UploadOptions, "fresh"> = {},
): Promise<DeployView> {
  const scan = await scanFolder(dir);
  reportSkipped(ctx, scan, []);
  return upload(ctx, api, microId, dir, scan.files, { base: undefined, send: scan.files, deleted: [] }, options);
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
  options: UploadOptions = {},
): Promise<DeployView | undefined> {
  const scan = await scanFolder(dir);
  const files = scan.files;
  // A file the serving release has and the folder no longer uploads (a hidden one, say) is among the deletions.
  const changes = await plan(api, microId, dir, files, options.force ?? false);
  if (options.reportSkipped ?? true) reportSkipped(ctx, scan, changes.deleted.filter(isHiddenPath));
  if (changes.base && changes.send.length === 0 && changes.deleted.length === 0) {
    step(ctx, `Everything is up to date: the release serving now has exactly these ${plural(files.length, "file")}.`);
    return undefined;
  }
  return upload(ctx, api, microId, dir, files, changes, options);
}

async function upload(
  ctx: CliContext,
  api: ApiClient,
  microId: string,
  dir: string,
  files: string[],
  { base, send, deleted }: Plan,
  { fresh = false }: Pick<UploadOptions, "fresh">,
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
  const result = await api.deploy(microId, archive, progress, { fresh }).finally(() => progress.finish());
  const install =
    {
      none: "no dependencies to install",
      reused: "dependencies unchanged, install reused",
      cached: "dependencies from the install cache",
    }[result.release.install] ?? `dependencies installed with ${result.release.install}`;
  step(ctx, `Release v${result.release.version} is live (${install}).`);
  return result;
}
