import { createReadStream, createWriteStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { Header, Pax } from "tar";
import { MicrosError } from "../../shared/errors.js";
import type { FileManifest } from "./manifest.js";

/** Where a packed release keeps its manifest and its tree (see unpackRelease). */
export const PACKED_MANIFEST = "files.json";
export const PACKED_TREE = "release";

/** Every entry's time: the same tree packs to the same bytes, so the same release is one blob. */
const EPOCH = new Date(0);
const BLOCK = 512;

interface Entry {
  path: string;
  type: "File" | "Directory" | "SymbolicLink";
  mode: number;
  size: number;
  linkpath?: string;
}

/**
 * Packs a release for other nodes: its manifest as `files.json`, then its folder under `release/`, into a
 * gzip'd tar written to `out`. The archive depends on nothing but the tree's names, bytes, links and executable
 * bits: entries in name order, one time, no owners, the modes a read-back gives (0755 folders, 0755 or 0644
 * files), and a file linked twice stored twice. The tree is one the platform wrote (read back from a build), so
 * anything but a file, folder or link in it is the platform's error.
 */
export async function packRelease(dir: string, manifest: FileManifest, out: string): Promise<void> {
  await pipeline(Readable.from(blocks(dir, manifest)), createGzip(), createWriteStream(out, { mode: 0o600 }));
}

async function* blocks(dir: string, manifest: FileManifest): AsyncGenerator<Buffer> {
  const listing = Buffer.from(JSON.stringify(manifest));
  yield* header({ path: PACKED_MANIFEST, type: "File", mode: 0o644, size: listing.length });
  yield listing;
  yield padding(listing.length);
  yield* header({ path: `${PACKED_TREE}/`, type: "Directory", mode: 0o755, size: 0 });
  for await (const { entry, source } of walk(dir, "")) {
    yield* header({ ...entry, path: `${PACKED_TREE}/${entry.path}` });
    if (entry.type !== "File") continue;
    let read = 0;
    for await (const chunk of createReadStream(source) as AsyncIterable<Buffer>) {
      read += chunk.length;
      yield chunk;
    }
    if (read !== entry.size) {
      throw new MicrosError("ERR_INTERNAL", `The release file ${source} changed while it was being packed.`);
    }
    yield padding(read);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** The entries under `dir` (paths relative to the release, prefixed with `rel`), each folder before what it holds. */
async function* walk(dir: string, rel: string): AsyncGenerator<{ entry: Entry; source: string }> {
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const source = join(dir, name);
    const path = rel === "" ? name : `${rel}/${name}`;
    const stats = await lstat(source);
    if (stats.isDirectory()) {
      yield { entry: { path: `${path}/`, type: "Directory", mode: 0o755, size: 0 }, source };
      yield* walk(source, path);
    } else if (stats.isFile()) {
      yield { entry: { path, type: "File", mode: stats.mode & 0o111 ? 0o755 : 0o644, size: stats.size }, source };
    } else if (stats.isSymbolicLink()) {
      const linkpath = await readlink(source);
      yield { entry: { path, type: "SymbolicLink", mode: 0o777, size: 0, linkpath }, source };
    } else {
      throw new MicrosError("ERR_INTERNAL", `The release holds ${source}, which is not a file, folder or link.`);
    }
  }
}

/** An entry's header, after a PAX header when its path or link is too long (or not ASCII) for the plain one. */
function* header(entry: Entry): Generator<Buffer> {
  const fields = { ...entry, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
  const plain = new Header(fields);
  if (plain.encode()) {
    yield new Pax({ path: entry.path, linkpath: entry.linkpath, size: entry.size, mtime: EPOCH }).encode();
  }
  yield plain.block as Buffer;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}
