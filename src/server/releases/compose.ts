import { copyFile, link, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { z } from "zod";
import { CHANGES_FILE } from "../../shared/api.js";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { linkTree } from "../util/link-tree.js";
import type { FileManifest } from "./manifest.js";

const changesSchema = z.strictObject({
  base: z.string().min(1),
  deleted: z.array(z.string()).max(100_000),
});

export type Changes = z.output<typeof changesSchema>;

/** The changes file of an unpacked upload, removed from the code; undefined for a full upload. */
export async function takeChanges(dir: string): Promise<Changes | undefined> {
  const file = join(dir, CHANGES_FILE);
  if (!(await exists(file))) return undefined;
  const parsed = changesSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
  await rm(file);
  if (!parsed.success)
    throw new MicrosError("ERR_BAD_ARCHIVE", `${CHANGES_FILE} is malformed: ${parsed.error.message}`);
  for (const path of parsed.data.deleted) {
    if (path.startsWith("/") || posix.normalize(path).startsWith("..")) {
      throw new MicrosError("ERR_BAD_ARCHIVE", `${CHANGES_FILE} deletes ${path}, which is outside the app.`);
    }
  }
  return parsed.data;
}

/**
 * Fills `dir` (holding the changed files) with the base release's other files,
 * except those deleted, so the result is the whole new release. Files are hard
 * links: releases never change once built.
 */
export async function composeFromBase(
  dir: string,
  baseDir: string,
  baseManifest: FileManifest,
  uploaded: FileManifest,
  deleted: string[],
): Promise<void> {
  const gone = new Set(deleted);
  for (const path of Object.keys(baseManifest)) {
    if (gone.has(path) || path in uploaded) continue;
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await link(join(baseDir, path), target).catch(() => copyFile(join(baseDir, path), target));
  }
}

/** Gives a new release the installed dependencies of its base, as hard links (`cp -al`), instead of installing. */
export async function reuseInstalled(baseDir: string, dir: string, installedDir: string): Promise<boolean> {
  const source = join(baseDir, installedDir);
  return (await exists(source)) && linkTree(source, join(dir, installedDir));
}

/** Whether the files that decide the dependencies are the same in both releases. */
export function sameDependencies(a: FileManifest, b: FileManifest, files: readonly string[]): boolean {
  return files.every((file) => a[file] === b[file]);
}
