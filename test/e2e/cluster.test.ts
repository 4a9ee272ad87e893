import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { type Cluster, type ClusterNode, useCluster } from "../helpers/cluster.js";
import { copyApp, useTmpDir, waitFor, writeApp } from "../helpers/micros.js";

/** What the cluster fixture answers (test/fixtures/cluster). */
interface Answer {
  instance: string;
  served: number;
  address: string | null;
  greeting: string | null;
}

async function answer(node: ClusterNode, subdomain: string, path = "/"): Promise<Answer> {
  const res = await node.request(subdomain, path);
  assert.equal(res.status, 200, `${node.name}: ${res.body}`);
  return JSON.parse(res.body) as Answer;
}

describe("a server in a network namespace of its own, with PostgreSQL in another", () => {
  let cluster: Cluster;
  let node: ClusterNode;

  before(async () => {
    cluster = await useCluster({ members: false });
    node = await cluster.addNode("solo");
  });

  it("deploys a micro through the CLI, sandboxes it, and serves it to a client on another host", async () => {
    const dir = await copyApp("cluster", "solo");
    const created = await node.cli(["new"], dir);
    assert.equal(created.code, 0, created.stderr);
    const first = await answer(node, "solo");
    assert.equal(first.served, 1);
    // The instance has a network of its own, joined to the node's namespace: a sandbox's subnet.
    assert.match(first.address ?? "", /^10\.(1\d\d)\./);
    const second = await answer(node, "solo");
    assert.deepEqual([second.instance, second.served], [first.instance, 2]);

    // Base, from inside the micro and through the CLI, is kept in the PostgreSQL of the other namespace.
    const put = await node.cli(["base", "put", "cluster", JSON.stringify({ key: "hits", n: 0 })], dir);
    assert.equal(put.code, 0, put.stderr);
    await answer(node, "solo", "/increment?key=hits");
    const got = await node.cli(["base", "get", "cluster", "hits"], dir);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout), { key: "hits", n: 1 });
  });
});

/** Requests sent one after another, round the nodes, until stopped (or a bound on their count and time is reached). */
interface Attempt {
  node: string;
  at: number;
  answer?: Answer;
  failure?: string;
}

function steadyTraffic(nodes: ClusterNode[], subdomain: string): { attempts: Attempt[]; stop(): Promise<void> } {
  const attempts: Attempt[] = [];
  let stopped = false;
  const started = Date.now();
  const loop = (async () => {
    while (!stopped && attempts.length < 4000 && Date.now() - started < 120_000) {
      for (const node of nodes) {
        const at = Date.now();
        try {
          const res = await node.request(subdomain, "/?mark=traffic", { signal: AbortSignal.timeout(5000) });
          if (res.status === 200) attempts.push({ node: node.name, at, answer: JSON.parse(res.body) as Answer });
          else attempts.push({ node: node.name, at, failure: `${res.status} ${res.body}` });
        } catch (err) {
          attempts.push({ node: node.name, at, failure: String(err) });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    attempts,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Waits with `wait`; when that fails, the error says what `explain` finds at that moment. */
async function explained<T>(wait: Promise<T>, explain: () => Promise<string> | string): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await explain()}`);
  }
}

/** What `micros nodes --json` prints. */
interface NodeEntry {
  id: string;
  address: string;
  live: boolean;
  startedAt: string;
}

async function nodesSeenBy(node: ClusterNode, cwd: string): Promise<NodeEntry[]> {
  const listed = await node.cli(["nodes", "--json"], cwd);
  assert.equal(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout) as NodeEntry[];
}

/** Cron micros, and ticks of each: ten ticks in all, with the three nodes racing for every one. */
const CRON_MICROS = 10;
const TICKS = 1;

describe("three nodes on one PostgreSQL", () => {
  let cluster: Cluster;
  let a: ClusterNode;
  let b: ClusterNode;
  let c: ClusterNode;
  /** The folder of the micro `hello`, deployed through a. */
  let hello: string;
  const cronMicros: { name: string; dir: string }[] = [];
  /** When the last schedule was set: every first tick is due a minute after. */
  let cronSetAt = 0;

  before(async () => {
    cluster = await useCluster();
    // The first node creates the admin; the others find it in the database.
    a = await cluster.addNode("a");
    [b, c] = await Promise.all([cluster.addNode("b"), cluster.addNode("c")]);
    const home = await useTmpDir();
    for (const node of [a, b, c]) {
      // Generous: a node's heartbeats wait on a busy machine like everything else.
      await explained(
        waitFor(
          `node ${node.name} to see the three nodes live`,
          async () => ((await nodesSeenBy(node, home)).filter((entry) => entry.live).length === 3 ? true : undefined),
          60_000,
        ),
        async () =>
          `${JSON.stringify(await nodesSeenBy(node, home))}\n${[a, b, c].map((each) => `${each.name}:\n${each.output()}`).join("\n")}`,
      );
    }
    hello = await copyApp("cluster", "hello");
    // The schedules start now, so their ticks come while the other tests run: each node sets up its share, a
    // deploys hello first.
    const made = await Promise.all(
      [a, b, c].map(async (node, n) => {
        if (node === a) {
          const created = await a.cli(["new"], hello);
          assert.equal(created.code, 0, created.stderr);
        }
        const mine: { name: string; dir: string }[] = [];
        for (let i = n + 1; i <= CRON_MICROS; i += 3) {
          const name = `cron${i}`;
          const dir = await copyApp("cluster", name);
          const created = await node.cli(["new"], dir);
          assert.equal(created.code, 0, created.stderr);
          const counter = await node.cli(
            ["base", "put", "cluster", JSON.stringify({ key: `cron-${name}`, runs: 0 })],
            dir,
          );
          assert.equal(counter.code, 0, counter.stderr);
          const scheduled = await node.cli(["cron", "set", "1 minute"], dir);
          assert.equal(scheduled.code, 0, scheduled.stderr);
          mine.push({ name, dir });
        }
        return mine;
      }),
    );
    cronMicros.push(...made.flat());
    cronSetAt = Date.now();
  });

  it("a micro deployed through one node answers through every node from one warm instance; its logs read through any", async () => {
    const answers = [await answer(a, "hello"), await answer(b, "hello"), await answer(c, "hello")];
    const [first] = answers as [Answer];
    assert.deepEqual(
      answers.map((each) => [each.instance, each.address, each.served]),
      [0, 1, 2].map((i) => [first.instance, first.address, first.served + i]),
      "the same instance served all three, one request after the other",
    );
    assert.ok(await cluster.nodeOf(first.address ?? ""), `a node runs the instance at ${first.address}`);

    const mark = randomBytes(6).toString("hex");
    await answer(a, "hello", `/?mark=${mark}`);
    await waitFor("the line printed for a request through a, in the logs read through c", async () => {
      const logs = await c.cli(["logs"], hello);
      assert.equal(logs.code, 0, logs.stderr);
      return logs.stdout.includes(`served ${mark}`) ? true : undefined;
    });
  });

  it("Base increments from instances on the three nodes, all at once, lose nothing", async () => {
    const put = await b.cli(["base", "put", "cluster", JSON.stringify({ key: "hits", n: 0 })], hello);
    assert.equal(put.code, 0, put.stderr);
    // One micro run by each node: those there are, and more until every node has one.
    const byNode = new Map<string, string>();
    const seen: string[] = [];
    const candidates = ["hello", ...cronMicros.map((micro) => micro.name)];
    for (let extra = 0; byNode.size < 3; ) {
      let subdomain = candidates.shift();
      if (subdomain === undefined) {
        assert.ok(extra < 12, `twelve more micros and still a node runs none of them: ${seen.join(", ")}`);
        subdomain = `spread${++extra}`;
        const made = await a.cli(["new"], await copyApp("cluster", subdomain));
        assert.equal(made.code, 0, made.stderr);
      }
      const { address } = await answer(a, subdomain);
      const owner = await cluster.nodeOf(address ?? "");
      seen.push(`${subdomain} on ${owner?.name ?? `no node (${address})`}`);
      if (owner && !byNode.has(owner.name)) byNode.set(owner.name, subdomain);
    }
    const PER_NODE = 5;
    const sent = [...byNode.values()].flatMap((subdomain) =>
      cluster.nodes.flatMap((node) =>
        Array.from({ length: PER_NODE }, () => answer(node, subdomain, "/increment?key=hits")),
      ),
    );
    const answers = await Promise.all(sent);
    const nodes = new Set<string>();
    for (const each of answers) nodes.add((await cluster.nodeOf(each.address ?? ""))?.name ?? "none");
    assert.deepEqual([...nodes].sort(), ["a", "b", "c"], "instances on every node incremented");
    const got = await c.cli(["base", "get", "cluster", "hits"], hello);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout), { key: "hits", n: answers.length });
  });

  it(`cron runs each tick once in the cluster: ${CRON_MICROS * TICKS} ticks with three nodes up`, async () => {
    for (const { name, dir } of cronMicros) {
      const runs = async () => {
        const got = await a.cli(["base", "get", "cluster", `cron-${name}`], dir);
        assert.equal(got.code, 0, got.stderr);
        return (JSON.parse(got.stdout) as { runs: number }).runs;
      };
      // The first tick is a minute after the schedule was set, each next one a minute after the last; a generous
      // margin past the last one for a busy machine.
      const deadline = cronSetAt + TICKS * 60_000 + 90_000;
      await explained(
        waitFor(
          `${TICKS} cron runs of ${name}`,
          async () => ((await runs()) >= TICKS ? true : undefined),
          Math.max(deadline - Date.now(), 10_000),
        ),
        async () => `runs: ${await runs()}; logs:\n${(await a.cli(["logs"], dir)).stdout}`,
      );
      const removed = await b.cli(["cron", "remove"], dir);
      assert.equal(removed.code, 0, removed.stderr);
      // Every run that started (a node that claimed a tick logs it first) has finished.
      const logs = await waitFor(`the cron runs of ${name} to finish`, async () => {
        const out = (await c.cli(["logs"], dir)).stdout;
        const started = out.match(/cron run started/g)?.length ?? 0;
        const ended = out.match(/cron run (finished|failed)/g)?.length ?? 0;
        return started === ended ? out : undefined;
      });
      assert.equal(logs.match(/cron run started/g)?.length, TICKS, logs);
      assert.equal(logs.match(/cron run finished/g)?.length, TICKS, logs);
      assert.equal(logs.match(/cron run counted/g)?.length, TICKS, logs);
      assert.equal(await runs(), TICKS);
    }
  });

  it("kill -9 the node that runs a micro: the others serve it again, nothing is lost, and the node rejoins", async () => {
    // State set through each node in turn.
    await writeApp(hello, { ".env": "GREETING=kept in the cluster\n" });
    const updated = await b.cli(["update", "-e", ".env"], hello);
    assert.equal(updated.code, 0, updated.stderr);
    const stored = await c.cli(["base", "put", "cluster", JSON.stringify({ key: "kept", v: 1 })], hello);
    assert.equal(stored.code, 0, stored.stderr);
    await writeApp(hello, { "note.txt": "a file in the drive\n" });
    const uploaded = await a.cli(["drive", "put", "files", "note.txt"], hello);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    // Every node's answer has the new environment: the instance started before it was retired, wherever it ran.
    for (const node of cluster.nodes) {
      await waitFor(`the new environment through ${node.name}`, async () =>
        (await answer(node, "hello")).greeting === "kept in the cluster" ? true : undefined,
      );
    }

    const listed = await nodesSeenBy(a, hello);
    const victim = await cluster.nodeOf((await answer(a, "hello")).address ?? "");
    assert.ok(victim, "a node runs the instance");
    const survivors = cluster.nodes.filter((node) => node !== victim);
    const traffic = steadyTraffic(cluster.nodes, "hello");
    let killedAt = 0;
    try {
      await waitFor("answers through every node before the kill", async () =>
        cluster.nodes.every((node) => traffic.attempts.some((each) => each.node === node.name && each.answer))
          ? true
          : undefined,
      );
      await victim.kill();
      killedAt = Date.now();
      await explained(
        waitFor(
          "answers through both survivors after the kill",
          async () =>
            survivors.every((node) =>
              traffic.attempts.some((each) => each.node === node.name && each.at > killedAt && each.answer),
            )
              ? true
              : undefined,
          30_000,
        ),
        () =>
          survivors
            .map((node) => {
              const last = traffic.attempts.findLast((each) => each.node === node.name);
              return `last through ${node.name}: ${JSON.stringify(last)}`;
            })
            .join("\n"),
      );
    } finally {
      await traffic.stop();
    }
    const after = [
      await answer(survivors[0] as ClusterNode, "hello"),
      await answer(survivors[1] as ClusterNode, "hello"),
    ];
    assert.equal(after[0]?.instance, after[1]?.instance, "one instance serves the micro again");
    const heir = await cluster.nodeOf(after[0]?.address ?? "");
    assert.ok(heir && survivors.includes(heir), `a survivor runs it, not ${heir?.name}`);

    // Nothing is lost: the micro, its environment, its Base item and its Drive file, through either survivor.
    for (const node of survivors) {
      const details = await node.cli(["details", "--json"], hello);
      assert.equal(details.code, 0, details.stderr);
      assert.equal((JSON.parse(details.stdout) as { name: string }).name, "hello");
      assert.equal((await answer(node, "hello")).greeting, "kept in the cluster");
      const item = await node.cli(["base", "get", "cluster", "kept"], hello);
      assert.deepEqual(JSON.parse(item.stdout), { key: "kept", v: 1 }, item.stderr);
      const file = await node.cli(["drive", "get", "files", "note.txt", "-o", "-"], hello);
      assert.equal(file.stdout, "a file in the drive\n", file.stderr);
    }

    // The killed node starts again on its data dir, as itself, and the others see it live without restarting.
    await victim.start();
    const id = listed.find((entry) => entry.address === victim.url)?.id;
    assert.ok(id, `the victim was listed: ${JSON.stringify(listed)}`);
    const seen = await waitFor("the restarted node, live, through a survivor", async () => {
      const now = await nodesSeenBy(survivors[0] as ClusterNode, hello);
      return now.find((entry) => entry.id === id)?.live ? now : undefined;
    });
    for (const node of survivors) {
      const startedAt = (list: NodeEntry[]) => list.find((entry) => entry.address === node.url)?.startedAt;
      assert.equal(startedAt(seen), startedAt(listed), `${node.name} was not restarted`);
    }
    assert.equal((await answer(victim, "hello")).greeting, "kept in the cluster");
  });
});
