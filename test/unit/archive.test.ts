import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import type { ArchiveLimits, BuildResult } from "../../runtimes/build/protocol.mjs";
import { unpack } from "../../runtimes/build/unpack.mjs";
import { linkEscapes, readBack } from "../../src/server/builds/read-back.js";
import { MicrosError } from "../../src/shared/errors.js";
import { type TarEntry as Entry, tarball } from "../helpers/deployer.js";

const dirs: string[] = [];
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tmp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const LIMITS: ArchiveLimits = { entries: 100, depth: 8, nameBytes: 64, pathBytes: 200, codeBytes: 1024 * 1024 };

/** Unpacks as the builder does in the build sandbox; returns its answer and the folder. */
async function unpacked(
  archive: Buffer,
  options: { limits?: Partial<ArchiveLimits>; releases?: string } = {},
): Promise<{ result: BuildResult; app: string }> {
  const dir = await tmp("micros-unpack-");
  await writeFile(join(dir, "upload.tar.gz"), archive);
  const app = join(dir, "app");
  await mkdir(app);
  const result = await unpack({
    step: "unpack",
    archive: join(dir, "upload.tar.gz"),
    app,
    releases: options.releases ?? null,
    limits: { ...LIMITS, ...options.limits },
  });
  return { result, app };
}

async function refusal(
  archive: Buffer,
  limits: Partial<ArchiveLimits> = {},
): Promise<{ code: string; message: string }> {
  const { result } = await unpacked(archive, { limits });
  assert.equal(result.ok, false, "the archive is refused");
  if (result.ok) throw new Error("unreachable");
  return result;
}

describe("the builder's archive checks, before anything is unpacked", () => {
  const good: Entry[] = [
    { path: "index.js", content: "module.exports = (q, s) => s.end('hi');" },
    { path: "lib/", type: "Directory" },
    { path: "lib/v1/", type: "Directory" },
    { path: "lib/v1/util.js", content: "exports.x = 1;" },
    { path: "lib/current", type: "SymbolicLink", linkpath: "v1" },
  ];

  it("unpacks an accepted archive as it was, and counts its entries", async () => {
    const { result, app } = await unpacked(tarball(good));
    assert.deepEqual(result, { ok: true, uploaded: 5, base: null });
    assert.equal(await readFile(join(app, "lib", "current", "util.js"), "utf8"), "exports.x = 1;");
    assert.equal(await readlink(join(app, "lib", "current")), "v1");
  });

  it("drops set-id and sticky bits and write access for others", async () => {
    const { result, app } = await unpacked(
      tarball([
        { path: "index.js", content: "x", mode: 0o4777 },
        { path: "tool", content: "x", mode: 0o2755 },
        { path: "shared/", type: "Directory", mode: 0o1777 },
      ]),
    );
    assert.equal(result.ok, true);
    assert.equal((await lstat(join(app, "index.js"))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(app, "tool"))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(app, "shared"))).mode & 0o7000, 0);
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
    ["a name over the limit", { path: `${"n".repeat(65)}.js`, content: "x" }, /has a name over 64 bytes/],
    [
      "a path over the limit",
      { path: `${`${"p".repeat(60)}/`.repeat(4)}x.js`, content: "x" },
      /has a path over 200 bytes/,
    ],
    [
      "folders nested too deep",
      { path: `${"d/".repeat(9)}x.js`, content: "x" },
      /nested 10 folders deep, over the limit of 8/,
    ],
  ];
  for (const [what, entry, message] of hostile) {
    it(`refuses ${what}, naming it`, async () => {
      const error = await refusal(tarball([{ path: "index.js", content: "x" }, entry]));
      assert.equal(error.code, "ERR_BAD_ARCHIVE");
      assert.match(error.message, message);
    });
  }

  it("refuses more entries than the limit, saying the limit, before unpacking any", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ path: `f${i}`, content: "" }));
    const { result, app } = await unpacked(tarball(many));
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.message, /more than 100 entries/);
    assert.deepEqual(await readdir(app), []);
  });

  it("refuses what is not a tar.gz, and an archive with no files", async () => {
    assert.equal((await refusal(Buffer.from("not gzip at all"))).code, "ERR_BAD_ARCHIVE");
    assert.equal((await refusal(gzipSync(Buffer.from("gzip, but no tar inside ".repeat(50))))).code, "ERR_BAD_ARCHIVE");
    const empty = await refusal(tarball([{ path: "only-a-folder/", type: "Directory" }]));
    assert.match(empty.message, /holds no files/);
  });

  it("refuses an archive that unpacks past the size limit", async () => {
    const error = await refusal(tarball([{ path: "big.bin", content: "x".repeat(4096) }]), { codeBytes: 1000 });
    assert.equal(error.code, "ERR_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /more than 1000 bytes/);
  });

  it("refuses a malformed list of changes with 4xx codes, never a host path", async () => {
    for (const content of ["not json", JSON.stringify({ base: "r1" }), JSON.stringify({ base: "../x", deleted: [] })]) {
      const { result, app } = await unpacked(
        tarball([
          { path: "index.js", content: "x" },
          { path: ".micros-changes.json", content },
        ]),
      );
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.equal(result.code, "ERR_BAD_ARCHIVE");
      assert.match(result.message, /\.micros-changes\.json/);
      assert.ok(!result.message.includes(app), "no host path");
    }
  });
});

describe("reading a finished build back", () => {
  const limits = { entries: 1000, depth: 16, bytes: 1024 * 1024 };

  /** The chain that once read the admin token: each link lexically inside, the whole climbing out. */
  async function chain(root: string): Promise<void> {
    await mkdir(join(root, "x"), { recursive: true });
    await mkdir(join(root, "d"));
    await symlink("../d/l4/admin-token", join(root, "x", "token.txt"));
    await symlink("l4/..", join(root, "d", "l5"));
    await symlink("l3/..", join(root, "d", "l4"));
    await symlink("l2/..", join(root, "d", "l3"));
    await symlink("l/..", join(root, "d", "l2"));
    await symlink("..", join(root, "d", "l"));
    await writeFile(join(root, "index.js"), "x");
  }

  it("finds where a chain of links really ends up", async () => {
    const root = await tmp("micros-links-");
    await chain(root);
    assert.equal(await linkEscapes(root, "x/token.txt"), "links outside the app");
    assert.equal(await linkEscapes(root, "d/l5"), "links outside the app");
    assert.equal(await linkEscapes(root, "d/l"), undefined, "d/l itself resolves to the app's root");
  });

  it("refuses the code when a link escapes, and copies nothing it should not", async () => {
    const root = await tmp("micros-links-");
    await chain(root);
    const target = join(await tmp("micros-release-"), "release");
    const error = await readBack(root, target, { links: "inside", limits, what: "the code" }).catch((err) => err);
    assert.ok(error instanceof MicrosError);
    assert.equal(error.code, "ERR_BAD_ARCHIVE");
    assert.ok(!error.message.includes(root), "no host path");
  });

  it("keeps an installer's links as they are, strips set-id bits and leaves out pipes", async () => {
    const root = await tmp("micros-installed-");
    await mkdir(join(root, "bin"));
    await symlink("/usr/bin/python3", join(root, "bin", "python"));
    await writeFile(join(root, "tool"), "x", { mode: 0o6755 });
    execFileSync("mkfifo", [join(root, "pipe")]);
    const target = join(await tmp("micros-release-"), "installed");
    const stats = await readBack(root, target, { links: "kept", limits, what: "the installed dependencies" });
    assert.equal(stats.files, 1);
    assert.equal(await readlink(join(target, "bin", "python")), "/usr/bin/python3");
    assert.equal((await lstat(join(target, "tool"))).mode & 0o7777, 0o755);
    await assert.rejects(lstat(join(target, "pipe")));
  });

  it("refuses a tree over its byte limit with the limit", async () => {
    const root = await tmp("micros-big-");
    await writeFile(join(root, "big"), "x".repeat(4096));
    const target = join(await tmp("micros-release-"), "release");
    const error = await readBack(root, target, {
      links: "inside",
      limits: { ...limits, bytes: 1000 },
      what: "the code",
    }).catch((err) => err);
    assert.equal(error.code, "ERR_PAYLOAD_TOO_LARGE");
  });
});
