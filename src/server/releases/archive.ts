import { posix } from "node:path";
import * as tar from "tar";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";

export interface ArchiveStats {
  files: number;
  bytes: number;
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "Directory", "SymbolicLink", "Link"]);

function reject(path: string, reason: string): never {
  throw new MicrosError("ERR_BAD_ARCHIVE", `The archive was refused: ${path} ${reason}. Nothing was deployed.`, {
    details: { path },
  });
}

/** Why an entry may not be unpacked into a release, or undefined when it may. */
export function entryProblem(entry: { path: string; type: string; linkpath?: string }): string | undefined {
  const { path, type, linkpath } = entry;
  if (!ALLOWED_TYPES.has(type)) return `is a ${type} entry; only files, folders and links are allowed`;
  if (path.startsWith("/") || /^[a-zA-Z]:/.test(path)) return "is an absolute path";
  if (path.split(/[\\/]/).includes("..")) return 'climbs out of the app with ".."';
  if (type === "SymbolicLink" || type === "Link") {
    if (!linkpath) return "is a link without a target";
    if (linkpath.startsWith("/")) return `links to an absolute path (${linkpath})`;
    // Symlinks resolve from their own folder; hard links from the archive's root.
    const target = type === "SymbolicLink" ? posix.join(posix.dirname(path), linkpath) : posix.normalize(linkpath);
    if (target === ".." || target.startsWith("../")) return `links outside the app (${linkpath})`;
  }
  return undefined;
}

/**
 * Reads the whole archive once before anything is unpacked: every entry must
 * be a file, folder or link that stays inside the app, and the unpacked size
 * must stay under the limit.
 */
export async function verifyArchive(file: string, maxBytes: number): Promise<ArchiveStats> {
  const stats: ArchiveStats = { files: 0, bytes: 0 };
  let problem: MicrosError | undefined;
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        if (problem) return;
        try {
          const why = entryProblem({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
          if (why) reject(entry.path, why);
          if (entry.type !== "Directory") stats.files++;
          stats.bytes += entry.size ?? 0;
          if (stats.bytes > maxBytes) {
            throw new MicrosError(
              "ERR_PAYLOAD_TOO_LARGE",
              `The code unpacks to more than ${formatBytes(maxBytes)}, the limit for one release. Leave large files out with .microsignore.`,
              { details: { limitBytes: maxBytes } },
            );
          }
        } catch (err) {
          problem = err as MicrosError;
        }
      },
    });
  } catch (err) {
    throw new MicrosError(
      "ERR_BAD_ARCHIVE",
      `The upload is not a readable gzip-compressed tar archive (${(err as Error).message}). Nothing was deployed.`,
      { cause: err },
    );
  }
  if (problem) throw problem;
  if (stats.files === 0) {
    throw new MicrosError("ERR_BAD_ARCHIVE", "The archive holds no files. Nothing was deployed.");
  }
  return stats;
}

export async function extractArchive(file: string, dir: string): Promise<void> {
  await tar.x({ file, cwd: dir, strict: true, preserveOwner: false, noMtime: false });
}
