import assert from "node:assert/strict";
import { mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { extractArchive, verifyArchive } from "../../src/server/releases/archive.js";
import { MicrosError } from "../../src/shared/errors.js";

interface Entry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  content?: string;
  linkpath?: string;
}

/** A gzip'd tar built block by block, so it can hold what no well-behaved packer writes. */
function tarball(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.content ?? "");
    const header = Buffer.alloc(512);
    new Header({
      path: entry.path,
      type: entry.type ?? "File",
      size: body.length,
      mode: entry.type === "Directory" ? 0o755 : 0o644,
      mtime: new Date(0),
      linkpath: entry.linkpath,
    }).encode(header);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function write(archive: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "micros-archive-"));
  dirs.push(dir);
  const file = join(dir, "upload.tar.gz");
  await writeFile(file, archive);
  return file;
}

async function refusal(archive: Buffer, maxBytes = 1024 * 1024): Promise<MicrosError> {
  const error = await verifyArchive(await write(archive), maxBytes).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(error instanceof MicrosError, "the archive is refused");
  return error;
}

describe("archive checks before a release is unpacked", () => {
  const good: Entry[] = [
    { path: "index.js", content: "module.exports = (q, s) => s.end('hi');" },
    { path: "lib/", type: "Directory" },
    { path: "lib/v1/", type: "Directory" },
    { path: "lib/v1/util.js", content: "exports.x = 1;" },
    { path: "lib/current", type: "SymbolicLink", linkpath: "v1" },
  ];

  it("accepts files, folders and links that stay inside, and counts them", async () => {
    const stats = await verifyArchive(await write(tarball(good)), 1024 * 1024);
    assert.deepEqual(stats, { files: 3, bytes: 53 });
  });

  it("unpacks an accepted archive as it was", async () => {
    const file = await write(tarball(good));
    const dir = await mkdtemp(join(tmpdir(), "micros-unpacked-"));
    dirs.push(dir);
    await extractArchive(file, dir);
    assert.equal(await readFile(join(dir, "lib", "current", "util.js"), "utf8"), "exports.x = 1;");
    assert.equal(await readlink(join(dir, "lib", "current")), "v1");
  });

  const hostile: [string, Entry, RegExp][] = [
    ["an absolute path", { path: "/etc/evil", content: "x" }, /\/etc\/evil is an absolute path/],
    ["a path climbing out", { path: "../escape.js", content: "x" }, /\.\.\/escape\.js climbs out/],
    ["a path climbing out midway", { path: "a/../../b.js", content: "x" }, /a\/\.\.\/\.\.\/b\.js climbs out/],
    [
      "a symlink outside",
      { path: "link", type: "SymbolicLink", linkpath: "../../etc/passwd" },
      /links outside the app/,
    ],
    [
      "a symlink to an absolute path",
      { path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" },
      /links to an absolute path/,
    ],
    ["a hard link outside", { path: "hard", type: "Link", linkpath: "../secret" }, /links outside the app/],
    ["a device", { path: "tty", type: "CharacterDevice" }, /tty is a CharacterDevice entry/],
    ["a pipe", { path: "fifo", type: "FIFO" }, /fifo is a FIFO entry/],
  ];
  for (const [what, entry, message] of hostile) {
    it(`refuses ${what}, naming it`, async () => {
      const error = await refusal(tarball([{ path: "index.js", content: "x" }, entry]));
      assert.equal(error.code, "ERR_BAD_ARCHIVE");
      assert.match(error.message, message);
    });
  }

  it("refuses what is not a tar.gz, and an archive with no files", async () => {
    assert.equal((await refusal(Buffer.from("not gzip at all"))).code, "ERR_BAD_ARCHIVE");
    assert.equal((await refusal(gzipSync(Buffer.from("gzip, but no tar inside ".repeat(50))))).code, "ERR_BAD_ARCHIVE");
    const empty = await refusal(tarball([{ path: "only-a-folder/", type: "Directory" }]));
    assert.match(empty.message, /holds no files/);
  });

  it("refuses an archive that unpacks past the size limit", async () => {
    const error = await refusal(tarball([{ path: "big.bin", content: "x".repeat(4096) }]), 1000);
    assert.equal(error.code, "ERR_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /more than 1000 bytes/);
  });
});
