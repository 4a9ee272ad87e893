import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { claimServerBlock, preferredBlock, type ServerBlock } from "../../src/server/sandbox/server-block.js";

const MODULE = join(import.meta.dirname, "..", "..", "src", "server", "sandbox", "server-block.ts");

/** Another server: a process that claims a block for `dataDir` and holds it until killed. */
function holdInAnotherProcess(dataDir: string, claims: string): Promise<{ index: number; kill(): Promise<void> }> {
  const script = `const { claimServerBlock } = await import(${JSON.stringify(MODULE)});
const block = await claimServerBlock(${JSON.stringify(dataDir)}, ${JSON.stringify(claims)});
console.log(block.index);
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) =>
      resolve({
        index: Number(chunk.toString().trim()),
        kill: async () => {
          child.kill("SIGKILL");
          await exited;
        },
      }),
    );
    exited.then(() => reject(new Error("the other server exited before claiming")));
  });
}

describe("each server on a host claims a block of its own", async () => {
  const claims = await mkdtemp(join(tmpdir(), "micros-claims-"));
  const held: ServerBlock[] = [];
  const claim = async (dataDir: string) => {
    const block = await claimServerBlock(dataDir, claims);
    held.push(block);
    return block;
  };
  after(async () => {
    for (const block of held) block.release();
    await rm(claims, { recursive: true, force: true });
  });

  it("two data dirs get different blocks: their uids and subnets do not overlap", async () => {
    const a = await claim("/srv/a");
    const b = await claim("/srv/b");
    assert.notEqual(a.index, b.index);
    const spans = [a.instanceUids, a.buildUids, b.instanceUids, b.buildUids].sort((x, y) => x.first - y.first);
    for (let i = 1; i < spans.length; i++) {
      const before = spans[i - 1] as { first: number; count: number };
      assert.ok(before.first + before.count <= (spans[i]?.first ?? 0), "uid spans never overlap");
    }
    assert.ok((spans[0]?.first ?? 0) >= 200_000);
  });

  it("a block is taken back by its data dir once given up, and never by two servers at once", async () => {
    const first = await claim("/srv/c");
    await assert.rejects(claim("/srv/c"), /uses this data dir/);
    first.release();
    assert.equal((await claim("/srv/c")).index, first.index);
  });

  it("a server that dies, even by SIGKILL, frees its block at once", async () => {
    const other = await holdInAnotherProcess("/srv/d", claims);
    await assert.rejects(claim("/srv/d"), /uses this data dir/);
    await other.kill();
    assert.equal((await claim("/srv/d")).index, other.index);
  });

  it("a server whose block another holds takes a free one", async () => {
    const other = await holdInAnotherProcess("/srv/e", claims);
    try {
      let dataDir = "/srv/f";
      for (let i = 0; preferredBlock(dataDir) !== other.index; i++) dataDir = `/srv/f${i}`;
      const taken = new Set(held.map((block) => block.index));
      const next = await claim(dataDir);
      assert.ok(next.index !== other.index && !taken.has(next.index), `block ${next.index}`);
    } finally {
      await other.kill();
    }
  });
});
