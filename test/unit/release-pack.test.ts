/**
 * A release packed for other nodes, and unpacked on one: the same tree comes back, and an archive that is not what
 * the packer writes is refused whole, with nothing written outside the folder it was unpacked into.
 */
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildManifest } from "../../src/server/releases/manifest.js";
import { packRelease } from "../../src/server/releases/release-pack.js";
import { unpackRelease } from "../../src/server/releases/release-unpack.js";
import { MicrosError } from "../../src/shared/errors.js";
import { type TarEntry, tarball } from "../helpers/deployer.js";
import { useTmpDir } from "../helpers/micros.js";

const LIMITS = { entries: 1000, bytes: 1024 * 1024 };
const HASH = "a".repeat(64);

/** A release as a build leaves it: code, an executable, a link inside, installed dependencies with a link out. */
async function release(): Promise<string> {
  const dir = join(await useTmpDir("micros-pack-"), "release");
  await mkdir(join(dir, "lib", "deep"), { recursive: true });
  await writeFile(join(dir, "index.js"), "require('./lib/util.js');\n");
  await writeFile(join(dir, "lib", "util.js"), "exports.x = 1;\n");
  await writeFile(join(dir, "lib", "deep", "run.sh"), "#!/bin/sh\n");
  await chmod(join(dir, "lib", "deep", "run.sh"), 0o755);
  await symlink("lib/util.js", join(dir, "util.js"));
  await mkdir(join(dir, "node_modules", ".bin"), { recursive: true });
  await writeFile(join(dir, "node_modules", "dep.js"), "x".repeat(5000));
  await symlink("/usr/bin/env", join(dir, "node_modules", ".bin", "env"));
  return dir;
}

async function unpacked(bytes: Buffer): Promise<{ into: string; result: Promise<unknown> }> {
  const base = await useTmpDir("micros-unpack-");
  const file = join(base, "release.tar.gz");
  await writeFile(file, bytes);
  const into = join(base, "into");
  await mkdir(into);
  return { into, result: unpackRelease(file, into, "node_modules", LIMITS) };
}

/** A packed release's entries around `tree`: the manifest, the release folder, then `tree`. */
function packed(tree: TarEntry[], manifest: Record<string, string> = {}): Buffer {
  return tarball([
    { path: "files.json", content: JSON.stringify(manifest) },
    { path: "release/", type: "Directory" },
    ...tree,
  ]);
}

async function refused(bytes: Buffer, why: RegExp): Promise<string> {
  const { into, result } = await unpacked(bytes);
  await assert.rejects(
    result,
    (err) => err instanceof MicrosError && err.code === "ERR_INTERNAL" && why.test(err.message),
  );
  return into;
}

describe("packed releases", () => {
  it("unpack to the same files, links and modes, with the manifest", async () => {
    const dir = await release();
    const manifest = await buildManifest(dir, "node_modules");
    const file = join(await useTmpDir(), "release.tar.gz");
    await packRelease(dir, manifest, file);
    const into = join(await useTmpDir(), "into");
    await mkdir(into);
    assert.deepEqual(await unpackRelease(file, into, "node_modules", LIMITS), manifest);
    const tree = join(into, "release");
    assert.deepEqual(await buildManifest(tree, "node_modules"), manifest);
    assert.equal(await readFile(join(tree, "node_modules", "dep.js"), "utf8"), "x".repeat(5000));
    assert.equal(await readlink(join(tree, "util.js")), "lib/util.js");
    assert.equal(await readlink(join(tree, "node_modules", ".bin", "env")), "/usr/bin/env", "installed links are kept");
    const mode = async (path: string) => (await lstat(join(tree, path))).mode & 0o7777;
    assert.equal(await mode("lib/deep/run.sh"), 0o755);
    assert.equal(await mode("index.js"), 0o644);
    assert.equal(await mode("lib/deep"), 0o755);
  });

  it("pack the same tree to the same bytes, whatever its files' times", async () => {
    const dir = await release();
    const manifest = await buildManifest(dir, "node_modules");
    const out = await useTmpDir();
    await packRelease(dir, manifest, join(out, "a.tar.gz"));
    await utimes(join(dir, "index.js"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await packRelease(dir, manifest, join(out, "b.tar.gz"));
    assert.ok((await readFile(join(out, "a.tar.gz"))).equals(await readFile(join(out, "b.tar.gz"))));
  });

  it("refuse a path that climbs out", async () => {
    const into = await refused(packed([{ path: "release/../../escaped.txt", content: "x" }]), /escaped/);
    assert.ok(!(await readdir(join(into, ".."))).includes("escaped.txt"));
  });

  it("refuse an absolute path, and an entry outside the release folder", async () => {
    await refused(packed([{ path: "/tmp/micros-absolute.txt", content: "x" }]), /micros-absolute/);
    await refused(packed([{ path: "elsewhere.txt", content: "x" }]), /elsewhere/);
  });

  it("refuse a file written through a link, even a link the installed dependencies may keep", async () => {
    const outside = await useTmpDir("micros-outside-");
    await refused(
      packed([
        { path: "release/node_modules/", type: "Directory" },
        { path: "release/node_modules/out", type: "SymbolicLink", linkpath: outside },
        { path: "release/node_modules/out/planted.txt", content: "x" },
      ]),
      /not in a folder the archive made/,
    );
    assert.deepEqual(await readdir(outside), []);
  });

  it("refuse an entry that would replace an earlier one", async () => {
    await refused(
      packed([
        { path: "release/a.txt", content: "x" },
        { path: "release/a.txt", type: "SymbolicLink", linkpath: "/etc/passwd" },
      ]),
      /"a\.txt" twice/,
    );
  });

  it("refuse a link of the code that ends up outside the release", async () => {
    await refused(packed([{ path: "release/token", type: "SymbolicLink", linkpath: "../../admin-token" }]), /outside/);
    await refused(packed([{ path: "release/passwd", type: "SymbolicLink", linkpath: "/etc/passwd" }]), /absolute/);
    await refused(packed([{ path: "release/node_modules", type: "SymbolicLink", linkpath: "/" }]), /absolute/);
  });

  it("refuse hard links, devices and pipes", async () => {
    const file = { path: "release/a.txt", content: "x" };
    await refused(packed([file, { path: "release/b", type: "Link", linkpath: "release/a.txt" }]), /Link/);
    await refused(packed([{ path: "release/tty", type: "CharacterDevice" }]), /CharacterDevice/);
    await refused(packed([{ path: "release/fifo", type: "FIFO" }]), /FIFO/);
  });

  it("refuse a manifest that names what the release does not hold, or that is not a manifest", async () => {
    await refused(packed([{ path: "release/a.txt", content: "x" }], { "b.txt": HASH }), /names "b\.txt"/);
    await refused(packed([{ path: "release/a.txt", content: "x" }], { "../a.txt": HASH }), /bad entry/);
    await refused(tarball([{ path: "release/", type: "Directory" }]), /no manifest/);
  });

  it("refuse more files or bytes than a release may hold", async () => {
    const many = Array.from({ length: LIMITS.entries + 1 }, (_, i) => ({ path: `release/${i}.txt`, content: "" }));
    await refused(packed(many), /more than 1000 entries/);
    await refused(packed([{ path: "release/big.bin", content: "x".repeat(LIMITS.bytes + 1) }]), /more than/);
  });
});
