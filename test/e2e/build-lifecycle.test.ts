import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cp, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type CliResult,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  ROOT,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";
import {
  assertNothingLeft,
  dataTree,
  type HostState,
  hostState,
  killMarked,
  leftovers,
  markedProcesses,
  slowCli,
} from "./build-helpers.js";

/** What a server remakes or keeps on purpose across starts: the runners it copies, caches, the database's journal. */
const KEPT = ["runtimes", "cache", "micros.db"];

interface SlowDeploy {
  dir: string;
  home: string;
  /** The data dir's paths before the deploy began. */
  tree: Set<string>;
  before: HostState;
  deploy: Promise<CliResult>;
}

/**
 * A build is the server's: when the server dies or stops, so does the build, and nothing of it remains on the
 * host or in the data dir; the same deploy then works on the restarted server.
 */
describe("a build ends with its server and leaves nothing behind", () => {
  const token = randomBytes(6).toString("hex");
  const mark = `micros-attack-${token}`;

  after(() => killMarked(mark));

  /** Deploys a micro whose install script sleeps a minute, and waits until that script is running. */
  async function startSlowDeploy(server: MicrosServer, name: string): Promise<SlowDeploy> {
    const home = await useTmpDir();
    const env = loggedIn(server, home);
    const dir = await copyApp("builds/hostile-node/app", name);
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    await cp(join(ROOT, "test", "fixtures", "builds", "hostile-node", "deps"), dir, { recursive: true });
    await writeFile(join(dir, "evil", "attack.json"), JSON.stringify({ attack: "sleep", seconds: 60, token }));
    const tree = await dataTree(server.dataDir, KEPT);
    const before = await hostState(server.dataDir);
    const deploy = slowCli(["deploy"], { cwd: dir, env });
    let settled: CliResult | undefined;
    deploy.then((result) => {
      settled = result;
    });
    await waitFor(
      "the install script to start",
      async () => {
        if (settled) {
          assert.fail(`the deploy ended before its install script ran (exit ${settled.code}):\n${settled.stderr}`);
        }
        return (await markedProcesses(mark)).length > 0 ? true : undefined;
      },
      120_000,
    );
    return { dir, home, tree, before, deploy };
  }

  /** Files of the data dir that were not there before the deploy, and half-built releases. */
  async function leftInDataDir(dataDir: string, tree: Set<string>): Promise<string[]> {
    const now = [...(await dataTree(dataDir, KEPT))].filter((path) => !tree.has(path));
    const releases = join(dataDir, "releases");
    for (const micro of await readdir(releases).catch(() => [])) {
      for (const entry of await readdir(join(releases, micro)).catch(() => [])) {
        if (entry.endsWith(".building")) now.push(`releases/${micro}/${entry}`);
      }
    }
    return now;
  }

  it("SIGKILL mid-build: no process of the build survives; the restarted server has nothing left and deploys again", async () => {
    const first = await useServer(["--warm-pool", "0"]);
    const slow = await startSlowDeploy(first, "killed");
    first.process.kill("SIGKILL");
    await first.stop();
    await assertNothingLeft(first.dataDir, slow.before, [mark], { processesOnly: true });
    assert.notEqual((await slow.deploy).code, 0, "the deploy did not succeed");

    const second = await useServer(["--warm-pool", "0"], {}, first.dataDir);
    await assertNothingLeft(first.dataDir, slow.before, [mark]);
    assert.deepEqual(await leftInDataDir(first.dataDir, slow.tree), [], "no half-built release or build scratch");

    // The same deploy, without the sleep, works on the restarted server.
    await writeFile(join(slow.dir, "evil", "attack.json"), JSON.stringify({ attack: "none", token }));
    const again = await slowCli(["deploy"], { cwd: slow.dir, env: loggedIn(second, slow.home) });
    assert.equal(again.code, 0, again.stderr);
    const host = `killed.localhost:${second.port}`;
    assert.equal((await request(second.port, host)).body, "good\n");
    const observed = await request(second.port, host, "/observed");
    assert.equal(observed.status, 200, observed.body);
    assert.equal(JSON.parse(observed.body).attack, "none");
  });

  it("SIGTERM mid-build: the server cancels the build before it says Stopped., and leaves nothing behind", async () => {
    const server = await useServer(["--warm-pool", "0"]);
    const slow = await startSlowDeploy(server, "stopped");
    const code = await server.stop();
    assert.equal(code, 0, server.output());
    assert.match(server.output(), /Stopped\./);
    // No polling: the server has waited for its build to end before it said so.
    assert.deepEqual(await leftovers(server.dataDir, slow.before, [mark]), [], server.output());
    assert.deepEqual(await leftInDataDir(server.dataDir, slow.tree), [], "no half-built release or build scratch");
    // Cancelled, not waited for: the install script had most of its minute to go.
    const deployed = await slow.deploy;
    assert.notEqual(deployed.code, 0, `the deploy did not succeed: ${deployed.stderr}`);
  });
});
