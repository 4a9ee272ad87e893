import { join } from "node:path";
import { exists } from "../../shared/exists.js";
import { linkTree } from "../util/link-tree.js";
import type { FileManifest } from "./manifest.js";

/** Gives a new release the installed dependencies of its base, as hard links (`cp -al`), instead of installing. */
export async function reuseInstalled(baseDir: string, dir: string, installedDir: string): Promise<boolean> {
  const source = join(baseDir, installedDir);
  return (await exists(source)) && linkTree(source, join(dir, installedDir));
}

/** The files of a release that decide its install, with their hashes: the dependency files, and local packages. */
export function dependencyHashes(manifest: FileManifest, files: readonly string[], folders: readonly string[]) {
  const inFolder = (path: string) => folders.some((folder) => path === folder || path.startsWith(`${folder}/`));
  return Object.entries(manifest)
    .filter(([path]) => files.includes(path) || inFolder(path))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether the files that decide the dependencies are the same in both releases. */
export function sameDependencies(
  a: FileManifest,
  b: FileManifest,
  files: readonly string[],
  folders: readonly string[] = [],
): boolean {
  return JSON.stringify(dependencyHashes(a, files, folders)) === JSON.stringify(dependencyHashes(b, files, folders));
}
