import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { preferredBlock } from "../../src/server/sandbox/server-block.js";
import { cli, copyApp, loggedIn, processesIn, request, useServer, useTmpDir, waitFor } from "../helpers/micros.js";

/** What a crashed server leaves behind, seen from the host. */
async function leftovers(dataDir: string) {
  const hash = createHash("sha256").update(dataDir).digest("hex");
  const cgroups = await readdir(`/sys/fs/cgroup/pids/micros-${hash.slice(0, 10)}`, { withFileTypes: true }).catch(
    () => [],
  );
  const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point.startsWith(dataDir));
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.startsWith(`m${hash.slice(0, 4)}`));
  return { cgroups: cgroups.filter((entry) => entry.isDirectory()).map((entry) => entry.name), mounts, namespaces };
}

describe("recovery from a crashed server", () => {
  it("a restarted server removes the cgroups, mounts and namespaces of instances the crash left behind", async () => {
    const first = await useServer();
    const dir = await copyApp("boot-id", "survivor");
    const env = loggedIn(first, await useTmpDir());
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    assert.equal((await request(first.port, `survivor.localhost:${first.port}`)).status, 200);
    // The instance, and the sandboxes kept ready for the next ones.
    const running = await leftovers(first.dataDir);
    assert.ok(running.cgroups.length >= 1, "the instance has its cgroup");
    assert.ok(running.namespaces.length >= 1, "and its network namespace");
    assert.ok(running.mounts.length >= 2, "and its /tmp and code");

    first.process.kill("SIGKILL");
    await first.stop();
    await waitFor("the instance to die with its server", async () =>
      (await processesIn(first.dataDir)).length === 0 ? true : undefined,
    );
    // The crash left them behind (and any sandbox the pool was still preparing when they were listed).
    const crashed = await leftovers(first.dataDir);
    assert.deepEqual(
      running.cgroups.filter((name) => !crashed.cgroups.includes(name)),
      [],
      "the crash left the cgroups behind",
    );

    // The restarted server makes sandboxes of its own (reusing network namespace names); none of the crashed
    // one's may remain.
    const second = await useServer([], {}, first.dataDir);
    const after = await leftovers(first.dataDir);
    assert.deepEqual(
      crashed.cgroups.filter((name) => after.cgroups.includes(name)),
      [],
    );
    // Sandboxes' mounts have names of their own; the shared parent of their code slots is made afresh, once.
    const slots = `${first.dataDir}/slots`;
    assert.deepEqual(
      crashed.mounts.filter((point) => point !== slots && after.mounts.includes(point)),
      [],
    );
    assert.equal(after.mounts.filter((point) => point === slots).length, 1);
    const res = await request(second.port, `survivor.localhost:${second.port}`);
    assert.equal(res.status, 200, "the micro serves again from the restarted server");
    assert.equal(await second.stop(), 0, second.output());
    assert.deepEqual(await leftovers(first.dataDir), { cgroups: [], mounts: [], namespaces: [] }, second.output());
  });

  it("a server that takes the block of a crashed one with another data dir removes its links and rules", async () => {
    const first = await useServer();
    const dir = await copyApp("boot-id", "orphaned");
    const env = loggedIn(first, await useTmpDir());
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    assert.equal((await request(first.port, `orphaned.localhost:${first.port}`)).status, 200);
    const prefix = `m${createHash("sha256").update(first.dataDir).digest("hex").slice(0, 4)}`;
    const theirs = () => ({
      links: execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.split(/\s+/)[1]?.startsWith(prefix)),
      tables: execFileSync("nft", ["list", "tables"], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.includes(` ${prefix}_`)),
    });
    const before = theirs();
    const octet = Number(/ inet 10\.(\d+)\./.exec(before.links[0] ?? "")?.[1]);
    assert.ok(octet >= 100, `the instance's link has an address in the server's /16: ${before.links}`);
    assert.equal(before.tables.length, 2);

    first.process.kill("SIGKILL");
    await first.stop();
    await waitFor("the instance to die with its server", async () =>
      (await processesIn(first.dataDir)).length === 0 ? true : undefined,
    );
    assert.ok(theirs().links.length > 0, "the crash left the instance's link behind");
    // A data dir whose server prefers the crashed one's block, now free: it takes that block and its /16.
    const tmp = await useTmpDir();
    // Searchable by the sandbox's users, as /tmp is above every other data dir.
    await chmod(tmp, 0o755);
    let other = "";
    for (let i = 0; !other; i++) if (preferredBlock(join(tmp, `${i}`)) === octet - 100) other = join(tmp, `${i}`);
    await mkdir(other);
    const second = await useServer([], {}, other);
    assert.deepEqual(theirs(), { links: [], tables: [] }, second.output());
    const created = await cli(["new"], {
      cwd: await copyApp("boot-id", "heir"),
      env: loggedIn(second, await useTmpDir()),
    });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await request(second.port, `heir.localhost:${second.port}`)).status, 200);
    // The crashed server's own data dir still holds its mounts: a start on it removes them.
    assert.equal(await (await useServer([], {}, first.dataDir)).stop(), 0);
  });
});
