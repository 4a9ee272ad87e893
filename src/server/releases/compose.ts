import { join } from "node:path";
import { exists } from "../../shared/exists.js";
import { linkTree } from "../util/link-tree.js";
import type { FileManifest } from "./manifest.js";

/** Gives a new release the installed dependencies of its base, as hard links (`cp -al`), instead of installing. */
export async function reuseInstalled(baseDir: string, dir: string, installedDir: string): Promise<boolean> {
  const source = join(baseDir, installedDir);
  return (await exists(source)) && linkTree(source, join(dir, installedDir));
}

/** Whether the files that decide the dependencies are the same in both releases. */
export function sameDependencies(a: FileManifest, b: FileManifest, files: readonly string[]): boolean {
  return files.every((file) => a[file] === b[file]);
}
