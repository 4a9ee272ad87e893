import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { hashFile } from "../../shared/hash.js";

/** A release's code files (not its installed dependencies): relative POSIX path → SHA-256. */
export type FileManifest = Record<string, string>;

/** Hashes every file under `dir`, leaving out the folder installs go to. */
export async function buildManifest(dir: string, installedDir: string): Promise<FileManifest> {
  const manifest: FileManifest = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/");
    if (path === installedDir || path.startsWith(`${installedDir}/`)) continue;
    manifest[path] = await hashFile(join(entry.parentPath, entry.name));
  }
  return manifest;
}

export function manifestFile(releaseDir: string): string {
  return `${releaseDir}.files.json`;
}

export async function readManifest(releaseDir: string): Promise<FileManifest | undefined> {
  try {
    return JSON.parse(await readFile(manifestFile(releaseDir), "utf8")) as FileManifest;
  } catch {
    return undefined;
  }
}

export async function writeManifest(releaseDir: string, manifest: FileManifest): Promise<void> {
  await writeFile(manifestFile(releaseDir), JSON.stringify(manifest));
}
