import { constants } from "node:fs";
import { chmod, copyFile, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";

export interface ReadBackLimits {
  entries: number;
  depth: number;
  bytes: number;
}

export interface ReadBackOptions {
  /**
   * `inside`: the tenant's own code; every link must end up inside the tree, where it really resolves.
   * `kept`: what a tool installed (node_modules, a virtual environment); links are copied as they are
   * (a venv's python links to the system's), since the platform never follows them and an instance
   * resolves them inside its own sandbox.
   */
  links: "inside" | "kept";
  limits: ReadBackLimits;
  /** What the tree is, for messages: "the code", "the installed dependencies". */
  what: string;
}

export interface ReadBackStats {
  files: number;
  bytes: number;
}

const MAX_LINK_HOPS = 40;
const PARALLEL_COPIES = 16;

function refused(message: string, details: Record<string, unknown> = {}): MicrosError {
  return new MicrosError("ERR_BAD_ARCHIVE", `${message} Nothing was deployed.`, { details });
}

/**
 * Where a link at `path` (relative to `root`) really ends up, resolved one part at a time as the kernel
 * would, with `root` as the top: undefined when it stays inside, else why not. A link inside the chain that
 * leads outside counts, even when the path it is written with looks inside (`d/l -> ..`).
 */
export async function linkEscapes(root: string, path: string): Promise<string | undefined> {
  const resolved = posix
    .dirname(path)
    .split("/")
    .filter((part) => part !== "" && part !== ".");
  const target = await readlink(join(root, path));
  if (target.startsWith("/")) return "links to an absolute path";
  const pending = target.split("/");
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (resolved.length === 0) return "links outside the app";
      resolved.pop();
      continue;
    }
    const at = join(root, ...resolved, part);
    const stats = await lstat(at).catch(() => undefined);
    if (stats?.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) return "is a loop of links";
      const next = await readlink(at);
      if (next.startsWith("/")) return "links through an absolute path";
      pending.unshift(...next.split("/"));
      continue;
    }
    // A missing part ends the walk on disk; what remains is followed by name alone.
    resolved.push(part);
  }
  return undefined;
}

/**
 * Copies a tree a build produced into the platform's own disk, never following a link out of it: each
 * entry is taken by what it is (regular file, folder, link), files get the platform's permissions (no
 * set-id or sticky bits, nothing writable but by the platform), and anything else is refused or left
 * out. The build's processes are all gone by now, so nothing changes the tree while it is read.
 */
export async function readBack(from: string, to: string, options: ReadBackOptions): Promise<ReadBackStats> {
  const top = await lstat(from).catch(() => undefined);
  if (!top?.isDirectory()) throw refused(`The build left ${options.what} as something other than a folder.`);
  const { limits } = options;
  const stats: ReadBackStats = { files: 0, bytes: 0 };
  let entries = 0;
  await mkdir(to, { mode: 0o755 });
  const pending: { rel: string; depth: number }[] = [{ rel: "", depth: 0 }];
  while (pending.length > 0) {
    const { rel, depth } = pending.pop() as { rel: string; depth: number };
    const listed = await readdir(join(from, rel), { withFileTypes: true });
    entries += listed.length;
    if (entries > limits.entries) {
      throw refused(`${capitalized(options.what)} hold more than ${limits.entries} files and folders, the limit.`, {
        limit: limits.entries,
      });
    }
    const files: string[] = [];
    for (const entry of listed) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (depth + 1 > limits.depth) {
          throw refused(`${capitalized(options.what)} nest folders more than ${limits.depth} deep, the limit.`, {
            limit: limits.depth,
          });
        }
        await mkdir(join(to, path), { mode: 0o755 });
        pending.push({ rel: path, depth: depth + 1 });
      } else if (entry.isFile()) {
        files.push(path);
      } else if (entry.isSymbolicLink()) {
        if (options.links === "inside") {
          const why = await linkEscapes(from, path);
          if (why) throw refused(`The archive was refused: ${shortPath(path)} ${why}.`, { path: shortPath(path) });
        }
        await symlink(await readlink(join(from, path)), join(to, path));
      } else if (options.links === "inside") {
        throw refused(`The archive was refused: ${shortPath(path)} is not a file, folder or link.`, {
          path: shortPath(path),
        });
      }
      // A socket or pipe a tool left behind in its install is of no use to the app: left out.
    }
    for (let i = 0; i < files.length; i += PARALLEL_COPIES) {
      await Promise.all(files.slice(i, i + PARALLEL_COPIES).map((path) => copyOne(from, to, path, stats)));
      if (stats.bytes > limits.bytes) {
        throw new MicrosError(
          "ERR_PAYLOAD_TOO_LARGE",
          `${capitalized(options.what)} take more than ${formatBytes(limits.bytes)}, the limit for one release. Leave large files out with .microsignore, drop unused packages or move development tools to devDependencies.`,
          { details: { limitBytes: limits.bytes } },
        );
      }
    }
  }
  return stats;
}

async function copyOne(from: string, to: string, path: string, stats: ReadBackStats): Promise<void> {
  const source = join(from, path);
  const { mode, size } = await lstat(source);
  const target = join(to, path);
  await copyFile(source, target, constants.COPYFILE_FICLONE);
  await chmod(target, mode & 0o111 ? 0o755 : 0o644);
  stats.files++;
  stats.bytes += size;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function shortPath(path: string): string {
  return path.length > 120 ? `${path.slice(0, 117)}...` : path;
}
