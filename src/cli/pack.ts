import { readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import * as tar from "tar";
import { UploadRules } from "./ignore-rules.js";

/** Hidden files listed at most, so a hidden folder of caches does not slow a deploy down. */
const HIDDEN_LISTED = 1000;

export interface FolderScan {
  /** The files that belong in a release, as sorted relative POSIX paths. */
  files: string[];
  /**
   * Hidden files left out that the rules before Deta's would have uploaded, sorted (at most HIDDEN_LISTED):
   * the user may not expect them to be missing.
   */
  hidden: string[];
  /** How the ignore files were read, when that needs saying. */
  notes: readonly string[];
}

/** Whether a path (relative, POSIX) of the folder stays out of releases: for `watch`, to skip edits there. */
export async function ignoreMatcher(dir: string): Promise<(path: string) => boolean> {
  const rules = await UploadRules.load(dir);
  return (path) => rules.ignores(path);
}

/** What of a micro's folder goes into a release, and what is left out that the user may not expect. */
export async function scanFolder(dir: string): Promise<FolderScan> {
  const rules = await UploadRules.load(dir);
  const files: string[] = [];
  const hidden: string[] = [];
  const entries = async (folder: string) =>
    (await readdir(folder, { withFileTypes: true })).map((entry) => ({
      entry,
      path: join(folder, entry.name),
      rel: relative(dir, join(folder, entry.name)).split(sep).join("/"),
    }));
  /** A hidden folder's files that used to be uploaded, for saying what is left out. */
  const listHidden = async (folder: string) => {
    for (const { entry, path, rel } of await entries(folder)) {
      if (hidden.length >= HIDDEN_LISTED) return;
      if (!rules.uploadedBefore(rel, entry.isDirectory())) continue;
      if (entry.isDirectory()) await listHidden(path);
      else if (entry.isFile() || entry.isSymbolicLink()) hidden.push(rel);
    }
  };
  const walk = async (folder: string) => {
    for (const { entry, path, rel } of await entries(folder)) {
      const isDir = entry.isDirectory();
      if (!isDir && !entry.isFile() && !entry.isSymbolicLink()) continue;
      const verdict = rules.verdict(rel, isDir);
      if (verdict === "upload") {
        if (isDir) await walk(path);
        else files.push(rel);
      } else if (verdict === "hidden" && rules.uploadedBefore(rel, isDir) && hidden.length < HIDDEN_LISTED) {
        if (isDir) await listHidden(path);
        else hidden.push(rel);
      }
    }
  };
  await walk(dir);
  return { files: files.sort(), hidden: hidden.sort(), notes: rules.notes };
}

/** The files of a micro's folder that belong in a release, as sorted relative POSIX paths. */
export async function listFiles(dir: string): Promise<string[]> {
  return (await scanFolder(dir)).files;
}

/** A gzip'd tar of the given files, with owners and modes normalised so the same code packs the same. */
export async function packFiles(dir: string, files: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, portable: true, noDirRecurse: true }, files);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
