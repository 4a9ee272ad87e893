/**
 * Taking data out and bringing it in: a base as JSON lines (one item per line, `__expires` kept), a drive as a
 * folder or a tar file. What `export` writes, `import` reads back, here or on any other Micros server; `import` also
 * takes a JSON list of items or `{"items": [...]}`, the shape Deta's query answers (and exports made from them) had.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { createInterface } from "node:readline";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { create as createTar, extract as extractTar } from "tar";
import { MicrosError } from "../shared/errors.js";
import { type DataClient, type Item, PUT_BATCH } from "./data-client.js";

/** Under Deta's 16 MB per request, with room for the envelope. */
const BATCH_BYTES = 15 * 1024 * 1024;

export async function exportBase(client: DataClient, base: string, out: Writable): Promise<number> {
  let count = 0;
  for await (const item of client.queryAll(base, [])) {
    if (!out.write(`${JSON.stringify(item)}\n`)) await new Promise((resolve) => out.once("drain", resolve));
    count++;
  }
  return count;
}

/** The items of a file: JSON lines, or one JSON document holding a list of items or `{"items": [...]}`. */
async function* itemsOf(file: string): AsyncGenerator<Item> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (number === 1 || /^\s*[[{]\s*$/.test(line)) {
        lines.close();
        yield* documentItems(file);
        return;
      }
      throw new MicrosError("ERR_VALIDATION", `${file}, line ${number}: not a JSON item.`);
    }
    if (Array.isArray(value) || (isRecord(value) && Array.isArray(value.items) && number === 1)) {
      lines.close();
      yield* documentItems(file);
      return;
    }
    yield isRecord(value) ? value : { value };
  }
}

async function* documentItems(file: string): AsyncGenerator<Item> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `${file} is neither JSON lines nor a JSON document: ${(err as Error).message}`,
    );
  }
  const list = Array.isArray(document) ? document : isRecord(document) ? document.items : undefined;
  if (!Array.isArray(list)) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `${file} holds no list of items: give JSON lines, [...] or {"items": [...]}.`,
    );
  }
  for (const value of list) yield isRecord(value) ? value : { value };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Puts every item of the file, 25 at a time (Deta's limit); how many. */
export async function importBase(
  client: DataClient,
  base: string,
  file: string,
  progress: (count: number) => void,
): Promise<number> {
  let batch: Item[] = [];
  let bytes = 0;
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await client.putItems(base, batch);
    count += batch.length;
    progress(count);
    batch = [];
    bytes = 0;
  };
  for await (const item of itemsOf(file)) {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (batch.length === PUT_BATCH || bytes + size > BATCH_BYTES) await flush();
    batch.push(item);
    bytes += size;
  }
  await flush();
  return count;
}

const isTar = (path: string) => /\.(tar|tar\.gz|tgz)$/i.test(path);

/** Where a file of the drive goes under `root`, or undefined for a name that would land outside it. */
function placeIn(root: string, name: string): string | undefined {
  const target = resolve(root, ...name.split("/"));
  return target.startsWith(`${root}${sep}`) ? target : undefined;
}

/** Writes every file of the drive into a folder, or a tar file (`.tar`, `.tar.gz`, `.tgz`); how many. */
export async function exportDrive(
  client: DataClient,
  drive: string,
  target: string,
  warn: (line: string) => void,
): Promise<number> {
  const folder = isTar(target) ? await mkdtemp(join(tmpdir(), "micros-drive-export-")) : resolve(target);
  try {
    await mkdir(folder, { recursive: true });
    let count = 0;
    for await (const name of client.allFiles(drive)) {
      const path = placeIn(folder, name);
      if (!path) {
        warn(`Skipped ${JSON.stringify(name)}: as a path it would leave the folder.`);
        continue;
      }
      const answer = await client.getFile(drive, name);
      if (!answer?.body) continue;
      await mkdir(dirname(path), { recursive: true });
      await pipeline(
        Readable.fromWeb(answer.body as import("node:stream/web").ReadableStream),
        createWriteStream(path),
      );
      count++;
    }
    if (isTar(target)) {
      await createTar(
        { file: target, cwd: folder, gzip: !/\.tar$/i.test(target), portable: true },
        await readdir(folder),
      );
    }
    return count;
  } finally {
    if (isTar(target)) await rm(folder, { recursive: true, force: true });
  }
}

/** Uploads one file from disk, read a part at a time. */
export async function uploadFile(
  client: DataClient,
  drive: string,
  name: string,
  path: string,
  contentType?: string,
): Promise<number> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const read = async (offset: number, length: number) => {
      const chunk = Buffer.alloc(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(chunk, done, length - done, offset + done);
        if (bytesRead === 0) throw new MicrosError("ERR_VALIDATION", `${path} changed while it was being uploaded.`);
        done += bytesRead;
      }
      return chunk;
    };
    await client.putFile(drive, name, size, read, contentType);
    return size;
  } finally {
    await handle.close();
  }
}

/** Regular files under `root` (links are not followed), with their names as Drive has them. */
async function* filesUnder(root: string): AsyncGenerator<{ path: string; name: string; size: number }> {
  for (const entry of await readdir(root, { recursive: true })) {
    const path = join(root, entry);
    const stats = await lstat(path);
    if (stats.isFile()) yield { path, name: relative(root, path).split(sep).join("/"), size: stats.size };
  }
}

/** Uploads every file of a folder or a tar file into the drive, each named by its path; how many. */
export async function importDrive(
  client: DataClient,
  drive: string,
  source: string,
  progress: (name: string) => void,
): Promise<number> {
  const stats = await lstat(source).catch(() => undefined);
  if (!stats) throw new MicrosError("ERR_VALIDATION", `There is no file or folder ${source}.`);
  const tar = stats.isFile();
  if (tar && !isTar(source)) {
    throw new MicrosError("ERR_VALIDATION", `${source} is a file: give a folder, or a .tar, .tar.gz or .tgz file.`);
  }
  const folder = tar ? await mkdtemp(join(tmpdir(), "micros-drive-import-")) : resolve(source);
  try {
    // tar refuses absolute paths and `..` in what it extracts.
    if (tar) await extractTar({ file: source, cwd: folder });
    let count = 0;
    for await (const file of filesUnder(folder)) {
      await uploadFile(client, drive, file.name, file.path);
      count++;
      progress(file.name);
    }
    return count;
  } finally {
    if (tar) await rm(folder, { recursive: true, force: true });
  }
}
