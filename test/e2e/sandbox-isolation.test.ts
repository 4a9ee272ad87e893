import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import { api, cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

interface ProbeResult {
  ok: boolean;
  code?: string;
  status?: number;
  output?: string;
  uid?: number;
  written?: number;
  address?: string;
}

interface Deployed {
  server: MicrosServer;
  micro: MicroView;
  probe(path: string): Promise<ProbeResult>;
}

/** Starts a server with the hostile micro on it, answering. */
async function deployHostile(): Promise<Deployed> {
  const server = await useServer();
  const env = loggedIn(server, await useTmpDir());
  const appDir = await copyApp("hostile", "sealed");
  const created = await cli(["new", "--json"], { cwd: appDir, env });
  assert.equal(created.code, 0, created.stderr);
  const probe = async (path: string) => {
    const res = await request(server.port, `sealed.localhost:${server.port}`, path);
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body) as ProbeResult;
  };
  await probe("/whoami");
  const { body } = await api<{ micro: MicroView }>(
    server,
    `/v1/micros/${(JSON.parse(created.stdout) as MicroView).id}`,
  );
  return { server, micro: body.micro, probe };
}

/** Every folder and regular file under `dir`, as root sees them (links are not followed; what vanishes is skipped). */
async function everything(dir: string): Promise<{ path: string; folder: boolean }[]> {
  const found = [{ path: dir, folder: true }];
  for (const name of await readdir(dir).catch(() => [])) {
    const path = join(dir, name);
    const stats = await lstat(path).catch(() => undefined);
    if (stats?.isDirectory()) found.push(...(await everything(path)));
    else if (stats?.isFile()) found.push({ path, folder: false });
  }
  return found;
}

/** What builds keep under run/ (src/server/builds): bound into build sandboxes by path. */
const BUILDS_OWN = ["builder", "builds", "caches"];

// Lists each folder and reads a byte of each file it is given on stdin; prints what it managed to.
const TRY_ALL = `
const fs = require("node:fs");
const entries = JSON.parse(fs.readFileSync(0, "utf8"));
const opened = entries.filter(({ path, folder }) => {
  try {
    if (folder) fs.readdirSync(path);
    else fs.readSync(fs.openSync(path, "r"), Buffer.alloc(1));
    return true;
  } catch {
    return false;
  }
});
process.stdout.write(JSON.stringify(opened.map(({ path }) => path)));
`;

/** What another local user (nobody) can list or read of `entries`. */
function openedByNobody(entries: { path: string; folder: boolean }[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", TRY_ALL],
      { cwd: "/", maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
    child.stdin?.end(JSON.stringify(entries));
  });
}

describe("instances are sealed from the host, its other users and other servers", () => {
  let first: Deployed;
  let second: Deployed;

  before(async () => {
    first = await deployHostile();
    second = await deployHostile();
  });

  it("the socket folder has no room to spare: writing into /run/micros ends in ENOSPC within a megabyte", async () => {
    const fill = await first.probe(`/fill?path=${encodeURIComponent("/run/micros/junk")}&mb=64`);
    assert.equal(fill.code, "ENOSPC", JSON.stringify(fill));
    assert.ok((fill.written ?? 0) < 1024 * 1024, `${fill.written} bytes were written before ENOSPC`);
    assert.equal((await first.probe("/whoami")).ok, true, "the micro still serves");
  });

  it("the mount table inside names neither the data dir nor the release", async () => {
    const release = first.micro.release?.id;
    assert.ok(release, "the micro has a release");
    const leaks = await first.probe(
      `/run?command=${encodeURIComponent(
        `grep -F -e '${first.server.dataDir}' -e '${release}' -e '${first.micro.id}' /proc/self/mountinfo /proc/mounts`,
      )}`,
    );
    assert.equal(leaks.status, 1, `mount lines that name the host: ${leaks.output}`);
    const app = await first.probe(`/run?command=${encodeURIComponent("grep -c ' /app ' /proc/self/mountinfo")}`);
    assert.ok(Number(app.output) >= 1, "the mount table was read");
  });

  it("two servers on one host: their instances run as different users and cannot reach each other", async () => {
    const uids = [(await first.probe("/whoami")).uid, (await second.probe("/whoami")).uid];
    assert.notEqual(uids[0], uids[1], `uids ${uids.join(" and ")}`);
    const listening = [await first.probe("/listen?port=7070"), await second.probe("/listen?port=7070")];
    for (const { ok, address } of listening) assert.ok(ok && address, JSON.stringify(listening));
    const [a, b] = listening.map(({ address }) => address as string);
    assert.notEqual(a, b, "each server has a subnet of its own");
    assert.deepEqual(await first.probe(`/connect?host=${a}&port=7070`), { ok: true }, "its own service answers");
    const across = [
      await first.probe(`/connect?host=${b}&port=7070`),
      await second.probe(`/connect?host=${a}&port=7070`),
    ];
    for (const result of across)
      assert.equal(result.ok, false, `reached the other server's micro: ${JSON.stringify(across)}`);
  });

  it("the data dir is closed to other local users, and micros still serve", async () => {
    const builds = BUILDS_OWN.map((name) => join(first.server.dataDir, "run", name));
    const entries = (await everything(first.server.dataDir)).filter(
      ({ path }) => !builds.some((own) => path === own || path.startsWith(`${own}/`)),
    );
    assert.ok(entries.length > 20, `${entries.length} folders and files`);
    assert.deepEqual(await openedByNobody(entries), []);
    assert.equal((await first.probe("/whoami")).ok, true);
  });

  it("builds' folders under run/ are closed to other local users too", async () => {
    const entries = (
      await Promise.all(BUILDS_OWN.map((name) => everything(join(first.server.dataDir, "run", name))))
    ).flat();
    const run = join(first.server.dataDir, "run");
    // Only the first levels, to keep the report short.
    const opened = new Set(
      (await openedByNobody(entries)).map((path) =>
        path
          .split("/")
          .slice(0, run.split("/").length + 2)
          .join("/"),
      ),
    );
    assert.deepEqual([...opened], []);
  });
});
