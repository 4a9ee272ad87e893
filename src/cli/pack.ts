import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import * as tar from "tar";
import { CHANGES_FILE } from "../shared/api.js";

/** Never uploaded, whatever the ignore files say: local state, secrets, installed dependencies, caches. */
const ALWAYS_IGNORED = [
  ".micros/",
  ".git/",
  ".env",
  "node_modules/",
  "__pycache__/",
  ".venv/",
  "venv/",
  "*.pyc",
  CHANGES_FILE,
];
const IGNORE_FILES = [".gitignore", ".microsignore"];

async function ignoreRules(dir: string): Promise<Ignore> {
  const rules = ignore().add(ALWAYS_IGNORED);
  for (const name of IGNORE_FILES) {
    try {
      rules.add(await readFile(join(dir, name), "utf8"));
    } catch {
      // No such file: nothing to add.
    }
  }
  return rules;
}

/** Whether a path (relative, POSIX) of the folder stays out of releases: for `watch`, to skip edits there. */
export async function ignoreMatcher(dir: string): Promise<(path: string) => boolean> {
  const rules = await ignoreRules(dir);
  return (path) => rules.ignores(path);
}

/** The files of a micro's folder that belong in a release, as sorted relative POSIX paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const rules = await ignoreRules(dir);
  const files: string[] = [];
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const rel = relative(dir, path).split(sep).join("/");
      if (entry.isDirectory()) {
        if (!rules.ignores(`${rel}/`)) await walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !rules.ignores(rel)) {
        files.push(rel);
      }
    }
  };
  await walk(dir);
  return files.sort();
}

/** A gzip'd tar of the given files, with owners and modes normalised so the same code packs the same. */
export async function packFiles(dir: string, files: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = tar.c({ gzip: true, cwd: dir, portable: true, noDirRecurse: true }, files);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
