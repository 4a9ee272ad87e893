import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { hashFile } from "../../shared/hash.js";
import { BLOB_HASH } from "./shared-blobs.js";

const TEMPORARY = ".tmp";

/**
 * One node's copies of shared blobs, a file per hash. A copy is written under a temporary name, checked against
 * its hash and only then renamed to it, so a file named by a hash is whole. A copy is checked again when it is
 * used after something changed it on disk (its inode, size or change time differ from when it was checked):
 * callers never write to a copy, so one that changed is damaged and is fetched again.
 */
export class BlobCache {
  /** What each copy looked like on disk when its bytes were last checked. */
  private readonly checked = new Map<string, string>();
  /** Temporary files being written now; any other is left over from a fetch that never finished. */
  private readonly writing = new Set<string>();

  constructor(private readonly dir: string) {}

  /** The copy of a blob, if this node has one with exactly the blob's bytes; a damaged one is removed. */
  async find(hash: string): Promise<string | undefined> {
    const path = join(this.dir, hash);
    const seen = await signature(path);
    if (seen === undefined) return undefined;
    if (this.checked.get(hash) === seen) return path;
    if ((await hashFile(path)) === hash) {
      this.checked.set(hash, seen);
      return path;
    }
    await this.remove(hash);
    return undefined;
  }

  /**
   * Writes a blob's bytes as they come and puts the copy in place once they match the hash and size; bytes that
   * do not are refused (the copy is not kept) with ERR_INTERNAL.
   */
  async fill(hash: string, size: number, chunks: AsyncIterable<Buffer>): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, hash);
    const temporary = `${path}.${randomBytes(6).toString("hex")}${TEMPORARY}`;
    this.writing.add(temporary);
    try {
      const digest = createHash("sha256");
      let written = 0;
      const out = await open(temporary, "wx", 0o400);
      try {
        for await (const chunk of chunks) {
          digest.update(chunk);
          written += chunk.length;
          await out.write(chunk);
        }
        await out.sync();
      } finally {
        await out.close();
      }
      if (written !== size || digest.digest("hex") !== hash) {
        throw new MicrosError(
          "ERR_INTERNAL",
          `The database's copy of blob ${hash} does not match its hash or size (${written} of ${size} bytes read); it was not used.`,
        );
      }
      await rename(temporary, path);
      const seen = await signature(path);
      if (seen !== undefined) this.checked.set(hash, seen);
      return path;
    } finally {
      this.writing.delete(temporary);
      await rm(temporary, { force: true });
    }
  }

  /** The hashes this node has copies of, removing what fetches that never finished left behind. */
  async hashes(): Promise<string[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [];
      throw err;
    });
    const found: string[] = [];
    for (const name of names) {
      if (BLOB_HASH.test(name)) found.push(name);
      else if (name.endsWith(TEMPORARY) && !this.writing.has(join(this.dir, name))) {
        await rm(join(this.dir, name), { force: true });
      }
    }
    return found;
  }

  async remove(hash: string): Promise<void> {
    this.checked.delete(hash);
    await rm(join(this.dir, hash), { force: true });
  }
}

/** What a file looks like on disk, as far as telling whether it was written to since: undefined if it is not there. */
async function signature(path: string): Promise<string | undefined> {
  try {
    const stats = await stat(path, { bigint: true });
    return stats.isFile() ? `${stats.ino}:${stats.size}:${stats.ctimeNs}` : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
