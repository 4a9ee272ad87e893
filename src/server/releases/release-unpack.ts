import { createReadStream } from "node:fs";
import { mkdir, open, symlink } from "node:fs/promises";
import { join } from "node:path";
import { Parser, type ReadEntry } from "tar";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";
import { linkEscapes } from "../builds/read-back.js";
import type { FileManifest } from "./manifest.js";
import { PACKED_MANIFEST, PACKED_TREE } from "./release-pack.js";

export interface UnpackLimits {
  /** Entries in the tree, files, folders and links together. */
  entries: number;
  /** Bytes of all files together. */
  bytes: number;
}

/** A manifest of 30,000 paths of up to 1 KB each, with their hashes, is well below this. */
const MANIFEST_BYTES = 64 * 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Unpacks a release packed by packRelease into the empty folder `into`: its tree as `into/release`, its manifest
 * returned. The archive is the platform's own, but it is read as the deployer reads a build back, as if it were
 * hostile: only files, folders and links; every path relative, without `.` or `..`, under a folder the archive
 * itself made (so nothing is written through a link, or over anything); each entry created anew, never replacing
 * one; files 0755 or 0644 and folders 0755, owned by the server, as a read-back leaves them; links of the code
 * ending up inside the tree where they really resolve (those of `installedDir`, the installed dependencies, are
 * kept as they are, as the read-back keeps them); and the manifest naming only files the tree holds. Anything
 * else refuses the whole archive with ERR_INTERNAL; the caller removes `into`.
 */
export async function unpackRelease(
  file: string,
  into: string,
  installedDir: string,
  limits: UnpackLimits,
): Promise<FileManifest> {
  const tree = join(into, PACKED_TREE);
  const folders = new Set<string>([""]);
  const files = new Set<string>();
  const links: string[] = [];
  const seen = new Set<string>();
  let entries = 0;
  let bytes = 0;
  let manifest: FileManifest | undefined;

  const place = async (entry: ReadEntry): Promise<void> => {
    const path = entry.path.replace(/\/$/, "");
    if (path === PACKED_MANIFEST && entry.type === "File" && manifest === undefined) {
      if (entry.size > MANIFEST_BYTES) throw refused(`its manifest is over ${formatBytes(MANIFEST_BYTES)}`);
      manifest = parseManifest(await readText(entry));
      return;
    }
    if (path === PACKED_TREE && entry.type === "Directory" && folders.size === 1) {
      await mkdir(tree, { mode: 0o755 });
      folders.add(PACKED_TREE);
      entry.resume();
      return;
    }
    const rel = path.startsWith(`${PACKED_TREE}/`) ? path.slice(PACKED_TREE.length + 1) : undefined;
    if (rel === undefined || !wellFormed(rel)) throw refused(`it holds ${describe(entry.path)}`);
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    if (!folders.has(parent) || !folders.has(PACKED_TREE)) {
      throw refused(`${describe(rel)} is not in a folder the archive made before it`);
    }
    if (++entries > limits.entries) throw refused(`it holds more than ${limits.entries} entries`);
    if (seen.has(rel)) throw refused(`it holds ${describe(rel)} twice`);
    seen.add(rel);
    const target = join(tree, rel);
    if (entry.type === "Directory") {
      await mkdir(target, { mode: 0o755 });
      folders.add(rel);
      entry.resume();
    } else if (entry.type === "SymbolicLink") {
      await symlink(entry.linkpath ?? "", target);
      links.push(rel);
      entry.resume();
    } else if (entry.type === "File" || entry.type === "OldFile") {
      bytes += entry.size;
      if (bytes > limits.bytes) throw refused(`its files take more than ${formatBytes(limits.bytes)}`);
      await writeEntry(entry, target, (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644);
      files.add(rel);
    } else {
      throw refused(`${describe(rel)} is a ${entry.type} entry, and a release holds only files, folders and links`);
    }
  };

  await parse(file, place);
  if (!manifest) throw refused("it has no manifest");
  if (!folders.has(PACKED_TREE)) throw refused("it has no release folder");
  for (const path of Object.keys(manifest)) {
    if (!files.has(path)) throw refused(`its manifest names ${describe(path)}, which is not a file in it`);
  }
  for (const link of links) {
    // The installed folder itself is a folder in a read-back, never a link: only what it holds is kept as it is.
    if (link.startsWith(`${installedDir}/`)) continue;
    const why = await linkEscapes(tree, link);
    if (why) throw refused(`${describe(link)} ${why}`);
  }
  return manifest;
}

/** Feeds the archive's entries to `place` one at a time, in order; the first failure ends the whole. */
function parse(file: string, place: (entry: ReadEntry) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = createReadStream(file);
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      input.destroy();
      reject(err instanceof MicrosError ? err : refused((err as Error).message, err));
    };
    let placed = Promise.resolve();
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        placed = placed.then(() => (failed ? void entry.resume() : place(entry))).catch(fail);
      },
    });
    parser.on("error", fail);
    parser.on("end", () => placed.then(() => failed || resolve(), fail));
    input.on("error", fail);
    input.pipe(parser);
  });
}

async function writeEntry(entry: ReadEntry, target: string, mode: number): Promise<void> {
  // "wx": a new file or nothing, so no link or earlier entry is ever written through.
  const out = await open(target, "wx", mode);
  try {
    for await (const chunk of entry as AsyncIterable<Buffer>) await out.write(chunk);
    // Whatever the process's umask, the modes a read-back gives.
    await out.chmod(mode);
  } finally {
    await out.close();
  }
}

async function readText(entry: ReadEntry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function parseManifest(text: string): FileManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refused("its manifest is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw refused("its manifest is not a map");
  const manifest: FileManifest = {};
  for (const [path, hash] of Object.entries(parsed)) {
    if (!wellFormed(path) || typeof hash !== "string" || !SHA256.test(hash)) {
      throw refused(`its manifest has a bad entry for ${describe(path)}`);
    }
    manifest[path] = hash;
  }
  return manifest;
}

/** A relative path of plain names: no leading or doubled slash, no `.` or `..`, no NUL. */
function wellFormed(path: string): boolean {
  return (
    path !== "" && path.split("/").every((part) => part !== "" && part !== "." && part !== ".." && !part.includes("\0"))
  );
}

function describe(path: string): string {
  const shown = JSON.stringify(path);
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
}

function refused(why: string, cause?: unknown): MicrosError {
  return new MicrosError("ERR_INTERNAL", `A stored release was refused: ${why}.`, { cause });
}
