/**
 * Unpacks an upload into the release being built: the archive's listing is
 * checked whole before anything is written, then it is extracted, and an
 * upload that holds only changes is completed from the release it builds on.
 * Runs in the build sandbox, so a link that leads somewhere else leads only
 * into the sandbox; the platform still checks every link again where it really
 * ends up when it reads the release back.
 */
import { copyFile, lstat, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import * as tar from "tar";
import type { ArchiveLimits, BuildResult, UnpackJob } from "./protocol.mjs";

/** The list of deletions an incremental upload carries (the CLI writes it). */
const CHANGES_FILE = ".micros-changes.json";
const RELEASE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ALLOWED_TYPES = new Set(["File", "OldFile", "Directory", "SymbolicLink", "Link"]);

export class Refused extends Error {
  constructor(
    readonly code: "ERR_BAD_ARCHIVE" | "ERR_PAYLOAD_TOO_LARGE" | "ERR_RELEASE_NOT_FOUND",
    message: string,
    readonly details: Record<string, string | number> = {},
  ) {
    super(message);
  }
}

const MB = 1024 * 1024;

function sized(bytes: number): string {
  return bytes >= MB ? `${Math.round(bytes / MB)} MB` : `${bytes} bytes`;
}

/** A path as it may be shown to the tenant: theirs, cut short. */
function shown(path: string): string {
  return path.length > 120 ? `${path.slice(0, 117)}...` : path;
}

function refuse(path: string, why: string): never {
  throw new Refused("ERR_BAD_ARCHIVE", `The archive was refused: ${shown(path)} ${why}. Nothing was deployed.`, {
    path: shown(path),
  });
}

/** Why an entry may not be unpacked, or undefined when it may. */
export function entryProblem(
  entry: { path: string; type: string; linkpath?: string },
  limits: ArchiveLimits,
): string | undefined {
  const { path, type, linkpath } = entry;
  if (!ALLOWED_TYPES.has(type)) return `is a ${type} entry; only files, folders and links are allowed`;
  if (path.startsWith("/") || /^[a-zA-Z]:/.test(path)) return "is an absolute path";
  const parts = path.split(/[\\/]/).filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) return 'climbs out of the app with ".."';
  if (Buffer.byteLength(path) > limits.pathBytes) return `has a path over ${limits.pathBytes} bytes`;
  if (parts.some((part) => Buffer.byteLength(part) > limits.nameBytes))
    return `has a name over ${limits.nameBytes} bytes`;
  if (parts.length > limits.depth) return `is nested ${parts.length} folders deep, over the limit of ${limits.depth}`;
  if (type === "SymbolicLink" || type === "Link") {
    if (!linkpath) return "is a link without a target";
    if (linkpath.startsWith("/")) return `links to an absolute path (${shown(linkpath)})`;
    // Symlinks resolve from their own folder; hard links from the archive's root.
    const target = type === "SymbolicLink" ? posix.join(posix.dirname(path), linkpath) : posix.normalize(linkpath);
    if (target === ".." || target.startsWith("../")) return `links outside the app (${shown(linkpath)})`;
  }
  return undefined;
}

/** Reads the whole listing: every entry allowed, and the count and unpacked size within the limits. */
async function verify(archive: string, limits: ArchiveLimits): Promise<number> {
  let entries = 0;
  let files = 0;
  let bytes = 0;
  let problem: Refused | undefined;
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        if (problem) return;
        entries++;
        if (entries > limits.entries) {
          problem = new Refused(
            "ERR_BAD_ARCHIVE",
            `The archive holds more than ${limits.entries} entries, the limit for one release. Leave generated or vendored files out with .microsignore. Nothing was deployed.`,
            { limit: limits.entries },
          );
          return;
        }
        const why = entryProblem({ path: entry.path, type: entry.type, linkpath: entry.linkpath }, limits);
        if (why) {
          try {
            refuse(entry.path, why);
          } catch (err) {
            problem = err as Refused;
          }
          return;
        }
        if (entry.type !== "Directory") files++;
        bytes += entry.size ?? 0;
        if (bytes > limits.codeBytes) {
          problem = new Refused(
            "ERR_PAYLOAD_TOO_LARGE",
            `The code unpacks to more than ${sized(limits.codeBytes)}, the limit for one release. Leave large files out with .microsignore. Nothing was deployed.`,
            { limitBytes: limits.codeBytes },
          );
        }
      },
    });
  } catch (err) {
    if (problem) throw problem;
    throw new Refused(
      "ERR_BAD_ARCHIVE",
      `The upload is not a readable gzip-compressed tar archive (${(err as Error).message}). Nothing was deployed.`,
    );
  }
  if (problem) throw problem;
  if (files === 0) throw new Refused("ERR_BAD_ARCHIVE", "The archive holds no files. Nothing was deployed.");
  return entries;
}

interface Changes {
  base: string;
  deleted: string[];
}

function parseChanges(text: string): Changes {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Refused("ERR_BAD_ARCHIVE", `${CHANGES_FILE} is not valid JSON. Deploy with the CLI, which writes it.`);
  }
  const { base, deleted } = (parsed ?? {}) as { base?: unknown; deleted?: unknown };
  if (
    typeof base !== "string" ||
    !RELEASE_ID.test(base) ||
    !Array.isArray(deleted) ||
    !deleted.every((path) => typeof path === "string") ||
    Object.keys(parsed as object).length !== 2
  ) {
    throw new Refused(
      "ERR_BAD_ARCHIVE",
      `${CHANGES_FILE} must hold exactly {"base": "<release id>", "deleted": ["<path>", ...]}. Deploy with the CLI, which writes it.`,
    );
  }
  for (const path of deleted as string[]) {
    if (path.startsWith("/") || posix.normalize(path).startsWith("..")) {
      throw new Refused("ERR_BAD_ARCHIVE", `${CHANGES_FILE} deletes ${shown(path)}, which is outside the app.`);
    }
  }
  return { base, deleted: deleted as string[] };
}

/** Completes an upload of changes with the base release's other files. */
async function compose(app: string, releases: string, changes: Changes): Promise<void> {
  const baseDir = join(releases, changes.base);
  let manifest: Record<string, string>;
  try {
    manifest = JSON.parse(await readFile(`${baseDir}.files.json`, "utf8")) as Record<string, string>;
  } catch {
    throw new Refused(
      "ERR_RELEASE_NOT_FOUND",
      `The upload builds on release ${changes.base}, which this micro no longer keeps. Deploy again with \`micros deploy --force\` to send every file.`,
    );
  }
  const gone = new Set(changes.deleted);
  for (const path of Object.keys(manifest)) {
    if (gone.has(path)) continue;
    const target = join(app, path);
    if (
      await lstat(target).then(
        () => true,
        () => false,
      )
    )
      continue;
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(baseDir, path), target);
  }
}

export async function unpack(job: UnpackJob): Promise<BuildResult> {
  try {
    const uploaded = await verify(job.archive, job.limits);
    // Permissions are the platform's to decide: no set-id or sticky bits, nothing writable by others.
    await tar.x({
      file: job.archive,
      cwd: job.app,
      strict: true,
      preserveOwner: false,
      filter: (_path, entry) => {
        if ("mode" in entry && entry.mode !== undefined) entry.mode &= 0o755;
        return true;
      },
    });
    const changesFile = join(job.app, CHANGES_FILE);
    const text = await readFile(changesFile, "utf8").catch(() => undefined);
    if (text === undefined) return { ok: true, uploaded, base: null };
    await rm(changesFile);
    const changes = parseChanges(text);
    if (!job.releases) {
      throw new Refused(
        "ERR_RELEASE_NOT_FOUND",
        `The upload builds on release ${changes.base}, but this micro has no release yet. Deploy again with \`micros deploy --force\`.`,
      );
    }
    await compose(job.app, job.releases, changes);
    return { ok: true, uploaded: uploaded - 1, base: changes.base };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, code: err.code, message: err.message, details: err.details };
    const code = (err as NodeJS.ErrnoException).code;
    // Whatever else goes wrong while unpacking is the archive's doing: say what, never where on disk.
    return {
      ok: false,
      code: "ERR_BAD_ARCHIVE",
      message: `The archive could not be unpacked${code ? ` (${code})` : ""}: ${shown((err as Error).message.replaceAll(job.app, "."))}. Nothing was deployed.`,
    };
  }
}
