import { readFile } from "node:fs/promises";
import { join } from "node:path";
import ignore, { type Ignore } from "ignore";
import { CHANGES_FILE } from "../shared/api.js";

/**
 * Never uploaded, whatever an ignore file says: local state (Micros' and Deta's), the git repository, the file the
 * platform reads an upload of changes from, the usual secrets file, installed dependencies (the server installs).
 */
const NEVER = [".micros/", ".deta/", ".git/", ".env", "node_modules/", CHANGES_FILE];
/** Left out unless an ignore file brings them back: caches, virtual environments, editors' backups (Deta's `*~`). */
const DEFAULTS = ["__pycache__/", ".venv/", "venv/", "*.pyc", "*~"];
/** Hidden files that go without saying: the ignore files themselves and Finder's litter. */
const QUIET = new Set([".gitignore", ".microsignore", ".detaignore", ".DS_Store"]);

/**
 * What happens to a path of a micro's folder: uploaded, left out by a rule that names it (an ignore file, the
 * defaults), or left out only because its name starts with a dot, Deta's rule, which earlier versions of Micros did
 * not have; those are worth telling the user about.
 */
export type Verdict = "upload" | "ignored" | "hidden";

/** One line of a `.detaignore`: whether it keeps (`!`) or skips what it matches. */
interface DetaLine {
  keep: boolean;
  matches(path: string, isDir: boolean): boolean;
}

async function readText(dir: string, name: string): Promise<string> {
  try {
    return await readFile(join(dir, name), "utf8");
  } catch {
    return ""; // No such file: no rules from it.
  }
}

/**
 * Deta's `.detaignore`: each line a regular expression matched anywhere in the path (folders without a trailing
 * slash), `!` keeping what it matches; the last line that matches decides. Deta dropped a line that was not a
 * regular expression without a word; most such lines are globs written as for `.gitignore` (`*.log`), so they are
 * read that way instead, and said so in `notes`.
 */
function parseDetaignore(text: string, notes: string[]): DetaLine[] {
  const lines: DetaLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const keep = line.startsWith("!");
    const pattern = keep ? line.slice(1) : line;
    if (pattern === "") return;
    try {
      const regex = new RegExp(pattern);
      lines.push({ keep, matches: (path) => regex.test(path) });
    } catch {
      const glob = ignore().add(line);
      lines.push({
        keep,
        matches: (path, isDir) => {
          const result = glob.test(isDir ? `${path}/` : path);
          return keep ? result.unignored : result.ignored;
        },
      });
      notes.push(
        `.detaignore line ${index + 1} (${line}) is not a regular expression, as Deta read each line; it is read as a .gitignore pattern.`,
      );
    }
  });
  return lines;
}

const isHidden = (path: string) => (path.split("/").pop() ?? "").startsWith(".");

/**
 * Which files of a micro's folder go into a release. Hidden files and folders never do (Deta's rule: `.env.*`,
 * `.npmrc`, `.aws/` hold secrets), unless `.microsignore` or `.detaignore` names one with `!`; `.gitignore`,
 * `.microsignore` (gitignore syntax) and `.detaignore` (Deta's regular expressions, with the last word) leave out
 * more. Paths are relative and POSIX; a folder's verdict covers everything in it.
 */
export class UploadRules {
  private constructor(
    private readonly never: Ignore,
    /** The rules as they were before hidden files were left out: NEVER, DEFAULTS, .gitignore and .microsignore. */
    private readonly named: Ignore,
    /** `.microsignore` alone, to tell a `!` line that brings a hidden file back. */
    private readonly microsignore: Ignore,
    private readonly detaignore: DetaLine[],
    /** What the user should know about how the ignore files were read. */
    readonly notes: readonly string[],
  ) {}

  static async load(dir: string): Promise<UploadRules> {
    const gitignore = await readText(dir, ".gitignore");
    const microsignore = await readText(dir, ".microsignore");
    const notes: string[] = [];
    const detaignore = parseDetaignore(await readText(dir, ".detaignore"), notes);
    return new UploadRules(
      ignore().add(NEVER),
      ignore().add(NEVER).add(DEFAULTS).add(gitignore).add(microsignore),
      ignore().add(microsignore),
      detaignore,
      notes,
    );
  }

  /** What happens to one entry whose folders are all uploaded (the walk does not enter the others). */
  verdict(path: string, isDir: boolean): Verdict {
    const asTested = isDir ? `${path}/` : path;
    if (this.never.ignores(asTested)) return "ignored";
    for (let i = this.detaignore.length - 1; i >= 0; i--) {
      const line = this.detaignore[i] as DetaLine;
      if (line.matches(path, isDir)) return line.keep ? "upload" : "ignored";
    }
    if (this.named.ignores(asTested)) return "ignored";
    if (!isHidden(path) || this.microsignore.test(asTested).unignored) return "upload";
    return QUIET.has(path.split("/").pop() ?? "") ? "ignored" : "hidden";
  }

  /** Whether the old rules (before hidden files were left out) uploaded this entry. */
  uploadedBefore(path: string, isDir: boolean): boolean {
    return !this.named.ignores(isDir ? `${path}/` : path);
  }

  /** Whether a path at any depth stays out of releases, itself or by one of its folders: for `watch`. */
  ignores(path: string): boolean {
    const parts = path.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      if (this.verdict(parts.slice(0, depth).join("/"), true) !== "upload") return true;
    }
    return this.verdict(path, false) !== "upload";
  }
}
