/**
 * Cluster: what serving micros from several nodes (`micros server` processes on one PostgreSQL database with one
 * --cluster-secret, docs/cluster.md) costs, against one node on SQLite, the baseline, measured in the same run on
 * the same machine. The nodes run on loopback, each with a data dir of its own, on a database made for the run
 * (MICROS_BENCH_DATABASE_URL names the PostgreSQL server).
 *
 *   deploy      `micros deploy` of a one-file change to a plain node:http app until the new code answers: on the
 *               baseline; in the cluster, deployed through a node that does not run the micro and answered through
 *               another (a third node, which forwards, when there are three; the node that runs it when two)
 *   cold        time to first byte of the first request to a micro that is asleep: on the baseline; through the
 *               node that runs the micro; through a node that forwards to it
 *   warm        sequential requests over one kept-alive connection, p50 and p99, the same three ways; then
 *               autocannon with 8 connections (one instance takes them all), with the CPU each request costs the
 *               platform's daemons and PostgreSQL's backends
 *   base        a put then a get of one item on /base with the project key, from the host, one kept-alive
 *               connection: SQLite on the baseline, PostgreSQL through a node; then whether every node sees them
 *   idle        the CPU the nodes and PostgreSQL's backends spend per second with nothing asked of them, and the
 *               connections the nodes hold to PostgreSQL
 *
 *   npm run bench:cluster [-- --nodes 3 --deploys 4 --cold 10 --requests 2000 --rounds 4 --duration 2 --base 1000]
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { ownerOf } from "../src/server/cluster/placement.js";
import type { NodeView } from "../src/shared/api.js";
import {
  type Answer,
  type BaseClient,
  type BenchServer,
  BIN,
  baseClient,
  cpuMs,
  microId,
  startServer,
  stats,
  timeToFirstByte,
  writeResult,
} from "./lib.js";
import { type BenchDatabase, createBenchDatabase } from "./postgres.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const NODES = flag("nodes", 3);
const DEPLOYS = flag("deploys", 4);
const COLD = flag("cold", 10);
const REQUESTS = flag("requests", 2000);
const ROUNDS = flag("rounds", 4);
const DURATION_S = flag("duration", 2);
const BASE_OPS = flag("base", 1000);
if (NODES !== 2 && NODES !== 3) throw new Error("--nodes takes 2 or 3");

/** Requests before each timed turn: a micro asleep since its last turn starts again, and connections open. */
const WARMUP = 50;
/** Fewer than an instance's concurrency target (8 in flight), so the throughput runs never start a second one. */
const CONNECTIONS = 8;
/** Long enough that no pause of a busy machine puts an instance to sleep mid-turn, short enough to wait for. */
const IDLE_TIMEOUT = ["--idle-timeout", "1s"];
/** Sandboxes kept ready are replaced in the background after each start; a quiet server has them all again. */
const SETTLE_MS = 1000;
const SECRET = randomBytes(24).toString("hex");
const IDLE_WINDOW_MS = 5000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const load = () => loadavg().map((value) => Math.round(value * 100) / 100);
const round1 = (value: number) => Math.round(value * 10) / 10;

/** A plain node:http app, no dependencies, answering `mark`. */
const app = (mark: string) => `const http = require("node:http");
http.createServer((req, res) => res.end(${JSON.stringify(mark)})).listen(process.env.PORT);
`;

/** A GET to `host` through `server`; `agent: false` opens a connection of its own. */
function get(server: BenchServer, host: string | undefined, path: string, agent: Agent | false): Promise<Answer> {
  return new Promise((done, fail) => {
    request({ host: "127.0.0.1", port: server.port, path, agent, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
    })
      .on("error", fail)
      .end();
  });
}

/** A micro's subdomain as the nodes of `server`'s platform answer it (the port is that node's own). */
const hostOf = (name: string, server: BenchServer) => `${name}.localhost:${server.port}`;

/** The cluster's nodes, each with its id in the pool. */
interface Node {
  server: BenchServer;
  id: string;
}

/** Waits until every node lists all of them live; returns each with its id. */
async function pool(servers: BenchServer[]): Promise<Node[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const views = await Promise.all(servers.map((server) => server.api<{ nodes: NodeView[] }>("/v1/nodes")));
    if (views.every((view) => view.nodes.filter((node) => node.live).length === servers.length)) {
      return servers.map((server, i) => {
        const self = views[i]?.nodes.find((node) => node.self);
        if (!self) throw new Error(`node on port ${server.port} does not list itself`);
        return { server, id: self.id };
      });
    }
    if (Date.now() > deadline) throw new Error(`the ${servers.length} nodes did not all list each other within 30 s`);
    await sleep(200);
  }
}

/** Who runs a micro in the cluster, and the nodes that forward to it. */
function placement(nodes: Node[], id: string): { runs: Node; forward: Node[] } {
  const owner = ownerOf(
    id,
    nodes.map((node) => node.id),
  );
  const runs = nodes.find((node) => node.id === owner);
  if (!runs) throw new Error(`no node runs micro ${id}`);
  return { runs, forward: nodes.filter((node) => node !== runs) };
}

interface Micro {
  name: string;
  dir: string;
  id: string;
}

/** Writes the app into `server`'s work dir and makes it a micro through `env`'s node. */
async function newMicro(server: BenchServer, env: NodeJS.ProcessEnv, name: string): Promise<Micro> {
  const dir = join(server.work, name);
  await mkdir(dir);
  await writeFile(join(dir, "index.js"), app(`${name} v0`));
  await writeFile(join(dir, "package.json"), JSON.stringify({ name, private: true, main: "index.js" }));
  execFileSync(process.execPath, [BIN, "new", "--node"], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  return { name, dir, id: await microId(dir) };
}

/** The CLI's environment for the platform's admin, talking to `server`. */
const through = (admin: BenchServer, server: BenchServer): NodeJS.ProcessEnv => ({
  ...admin.env,
  MICROS_HOST: `http://127.0.0.1:${server.port}`,
});

/** Asks until `server` answers `mark` for the micro, each time on a new connection; returns how many asks it took. */
async function untilAnswers(server: BenchServer, host: string, mark: string): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (let asks = 1; ; asks++) {
    const answer = await get(server, host, "/", false).catch((err: Error) => ({ status: 0, body: err.message }));
    if (answer.status === 200 && answer.body === mark) return asks;
    if (performance.now() > deadline) {
      throw new Error(`${host} did not answer "${mark}" within 60 s (last: ${answer.status} ${answer.body})`);
    }
    await sleep(5);
  }
}

/** One timed deploy of a new version through `deployEnv`'s node, until `answers` serves it. */
async function timedDeploy(
  micro: Micro,
  deployEnv: NodeJS.ProcessEnv,
  answers: BenchServer,
  version: number,
): Promise<{ ms: number; asks: number }> {
  const mark = `${micro.name} v${version}`;
  await writeFile(join(micro.dir, "index.js"), app(mark));
  const start = performance.now();
  execFileSync(process.execPath, [BIN, "deploy"], {
    cwd: micro.dir,
    env: deployEnv,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const asks = await untilAnswers(answers, hostOf(micro.name, answers), mark);
  return { ms: performance.now() - start, asks };
}

/** Until the node that runs the micro lists no instance of it. */
async function asleep(runs: BenchServer, id: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { micro } = await runs.api<{ micro: { instances: unknown[] } }>(`/v1/micros/${id}`);
    if (micro.instances.length === 0) break;
    if (Date.now() > deadline) throw new Error(`micro ${id} still has an instance after 30 s`);
    await sleep(20);
  }
}

/** What a daemon does for a way: serves the micro, forwards to the node that does, or neither. */
type Role = "runs" | "forwards" | "idle";

/** One way of reaching an awake micro: where requests are sent, and the platform's daemons, each in its role. */
interface Way {
  name: "baseline" | "runs" | "forwards";
  through: BenchServer;
  host: string;
  daemons: { role: Role; server: BenchServer }[];
  postgres?: BenchDatabase;
}

async function sequential(way: Way, agent: Agent, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await get(way.through, way.host, "/", agent);
    if (answer.status !== 200) throw new Error(`${way.name}: ${answer.status} ${answer.body}`);
    times.push(performance.now() - start);
  }
  return times;
}

interface Rate {
  requests: number;
  seconds: number;
  /** CPU (main threads) of the daemons in each role, and of PostgreSQL's backends for the database, in ms. */
  cpuMs: Record<Role | "postgres", number>;
}

/** CPU so far of the daemons in each role, in ms. */
function cpuByRole(way: Way): Record<Role, number> {
  const cpu = { runs: 0, forwards: 0, idle: 0 };
  for (const { role, server } of way.daemons) cpu[role] += cpuMs(server.pid);
  return cpu;
}

async function throughput(way: Way): Promise<Rate> {
  const before = cpuByRole(way);
  const postgres = way.postgres?.cpuMeter();
  let firstError: unknown;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const run = autocannon(
      {
        url: `http://127.0.0.1:${way.through.port}/`,
        headers: { host: way.host },
        connections: CONNECTIONS,
        duration: DURATION_S,
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
    run.on("reqError", (err) => {
      firstError ??= err;
    });
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${way.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`, { cause: firstError });
  }
  const after = cpuByRole(way);
  return {
    requests: result.requests.total,
    seconds: result.duration,
    cpuMs: {
      runs: after.runs - before.runs,
      forwards: after.forwards - before.forwards,
      idle: after.idle - before.idle,
      postgres: postgres?.() ?? 0,
    },
  };
}

async function putsAndGets(base: BaseClient, count: number, from: number): Promise<{ put: number[]; get: number[] }> {
  const times = { put: [] as number[], get: [] as number[] };
  for (let i = from; i < from + count; i++) {
    const key = `user-${String(i).padStart(5, "0")}`;
    let start = performance.now();
    const put = await base.call("PUT", "/items", { items: [{ key, name: `User number ${i}`, age: i % 100 }] });
    times.put.push(performance.now() - start);
    if (put.status !== 207) throw new Error(`put: ${put.status} ${put.body}`);
    start = performance.now();
    const got = await base.call("GET", `/items/${key}`);
    times.get.push(performance.now() - start);
    if (got.status !== 200) throw new Error(`get: ${got.status} ${got.body}`);
  }
  return times;
}

/** p50 and p99 of each way, and the ratios of the cluster's to the baseline's. */
function compared(ways: Record<string, number[]>, baseline: number[]) {
  const base = stats(baseline);
  return Object.fromEntries(
    Object.entries(ways).map(([name, samples]) => {
      const s = stats(samples);
      return [name, { ...s, ratio: { p50: round2(s.p50 / base.p50), p99: round2(s.p99 / base.p99) } }];
    }),
  );
}
const round2 = (value: number) => Math.round(value * 100) / 100;

const loads: Record<string, number[]> = { start: load() };
const database = await createBenchDatabase();
const servers: BenchServer[] = [];
try {
  const baseline = await startServer(IDLE_TIMEOUT);
  servers.push(baseline);
  const clusterFlags = [...IDLE_TIMEOUT, "--database", database.url, "--cluster-secret", SECRET];
  const first = await startServer(clusterFlags);
  servers.push(first);
  // One at a time: the first creates the admin and the shared sealing key the others unwrap.
  for (let i = 1; i < NODES; i++) {
    servers.push(await startServer(clusterFlags, first.env.MICROS_ACCESS_TOKEN));
  }
  const nodes = await pool(servers.slice(1));
  const cluster = nodes.map((node) => node.server);
  const postgresConnections = await database.connections();

  // One micro on each platform is deployed, then timed cold and warm; the cluster has a second, timed cold through
  // a node that forwards while the first sleeps.
  const baseMicro = await newMicro(baseline, baseline.env, "bench");
  const micro = await newMicro(first, first.env, "bench");
  const forwardedCold = await newMicro(first, first.env, "bench-forwarded");
  const microAt = placement(nodes, micro.id);
  const forwardedAt = placement(nodes, forwardedCold.id);
  const [deployVia, otherForwarder] = microAt.forward as [Node, Node | undefined];
  const answerVia = otherForwarder ?? microAt.runs;

  // Deploys, taking turns.
  loads.deploy = load();
  const deploys = { baseline: [] as number[], cluster: [] as number[], clusterAsks: [] as number[] };
  for (let i = 1; i <= DEPLOYS; i++) {
    deploys.baseline.push((await timedDeploy(baseMicro, baseline.env, baseline, i)).ms);
    const timed = await timedDeploy(micro, through(first, deployVia.server), answerVia.server, i);
    deploys.cluster.push(timed.ms);
    deploys.clusterAsks.push(timed.asks);
  }
  console.log(
    `deploy: baseline ${JSON.stringify(stats(deploys.baseline))} | cluster ${JSON.stringify(stats(deploys.cluster))}`,
  );

  // Cold starts, taking turns: each micro sleeps while the others are timed.
  loads.cold = load();
  const cold = [
    { name: "baseline", micro: baseMicro, runs: baseline, via: baseline, samples: [] as number[] },
    { name: "runs", micro, runs: microAt.runs.server, via: microAt.runs.server, samples: [] as number[] },
    {
      name: "forwards",
      micro: forwardedCold,
      runs: forwardedAt.runs.server,
      via: (forwardedAt.forward[0] as Node).server,
      samples: [] as number[],
    },
  ];
  for (let i = 0; i < COLD; i++) {
    for (const way of cold) {
      // Every micro, not only this one: the last one timed stops its instance after the idle timeout, and that
      // work must not overlap this start.
      for (const other of cold) await asleep(other.runs, other.micro.id);
      await sleep(SETTLE_MS);
      way.samples.push(await timeToFirstByte(way.via.port, hostOf(way.micro.name, way.via)));
    }
  }
  const coldResult = compared(Object.fromEntries(cold.map((way) => [way.name, way.samples])), cold[0]?.samples ?? []);
  console.log(`cold start: ${JSON.stringify(coldResult)}`);

  // Warm requests, the three ways taking turns in rounds.
  loads.warm = load();
  const forwarder = microAt.forward[0] as Node;
  const ways: Way[] = [
    {
      name: "baseline",
      through: baseline,
      host: hostOf(baseMicro.name, baseline),
      daemons: [{ role: "runs", server: baseline }],
    },
    {
      name: "runs",
      through: microAt.runs.server,
      host: hostOf(micro.name, microAt.runs.server),
      daemons: [
        { role: "runs", server: microAt.runs.server },
        ...microAt.forward.map((node) => ({ role: "idle" as const, server: node.server })),
      ],
      postgres: database,
    },
    {
      name: "forwards",
      through: forwarder.server,
      host: hostOf(micro.name, forwarder.server),
      daemons: [
        { role: "runs", server: microAt.runs.server },
        ...microAt.forward.map((node) => ({
          role: node === forwarder ? ("forwards" as const) : ("idle" as const),
          server: node.server,
        })),
      ],
      postgres: database,
    },
  ];
  const latency = new Map(ways.map((way) => [way.name, [] as number[]]));
  const rates = new Map(ways.map((way) => [way.name, [] as Rate[]]));
  for (let i = 0; i < ROUNDS; i++) {
    for (const way of ways) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      await sequential(way, agent, WARMUP);
      latency.get(way.name)?.push(...(await sequential(way, agent, Math.ceil(REQUESTS / ROUNDS))));
      agent.destroy();
      rates.get(way.name)?.push(await throughput(way));
    }
  }
  const warmLatency = compared(Object.fromEntries(latency), latency.get("baseline") ?? []);
  const rateOf = (name: Way["name"]) => {
    const all = rates.get(name) ?? [];
    const requests = all.reduce((sum, rate) => sum + rate.requests, 0);
    const seconds = all.reduce((sum, rate) => sum + rate.seconds, 0);
    const perRequestUs = (ms: number) => round1((ms * 1000) / requests);
    const cpu = (role: Role | "postgres") => perRequestUs(all.reduce((sum, rate) => sum + rate.cpuMs[role], 0));
    return {
      reqPerSec: Math.round(requests / seconds),
      cpuUsPerRequest: { runs: cpu("runs"), forwards: cpu("forwards"), idle: cpu("idle"), postgres: cpu("postgres") },
    };
  };
  const baselineRate = rateOf("baseline");
  const warmThroughput = Object.fromEntries(
    ways.map((way) => {
      const rate = rateOf(way.name);
      return [way.name, { ...rate, ratio: round2(rate.reqPerSec / baselineRate.reqPerSec) }];
    }),
  );
  console.log(`warm latency: ${JSON.stringify(warmLatency)}`);
  console.log(`warm throughput (${CONNECTIONS} connections): ${JSON.stringify(warmThroughput)}`);

  // Base: a put then a get, SQLite and PostgreSQL taking turns in rounds.
  loads.base = load();
  const sqliteBase = await baseClient(baseline, baseline);
  const postgresBase = await baseClient(first, first);
  const base = {
    sqlite: { put: [] as number[], get: [] as number[] },
    postgres: { put: [] as number[], get: [] as number[] },
  };
  let postgresBaseMs = 0;
  const perRound = Math.ceil(BASE_OPS / ROUNDS);
  // Connections, the project key's first use and the code's first runs are not what is measured.
  await putsAndGets(sqliteBase, 100, 0);
  await putsAndGets(postgresBase, 100, 0);
  for (let i = 0; i < ROUNDS; i++) {
    const sqlite = await putsAndGets(sqliteBase, perRound, i * perRound);
    base.sqlite.put.push(...sqlite.put);
    base.sqlite.get.push(...sqlite.get);
    const meter = database.cpuMeter();
    const postgres = await putsAndGets(postgresBase, perRound, i * perRound);
    postgresBaseMs += meter() ?? 0;
    base.postgres.put.push(...postgres.put);
    base.postgres.get.push(...postgres.get);
  }
  sqliteBase.close();
  postgresBase.close();
  // Every node must see what one node put: otherwise Base is not in PostgreSQL and the figures are SQLite's.
  const shared = await Promise.all(
    cluster.map(async (server) => {
      const client = await baseClient(server, first);
      const answer = await client.call("GET", "/items/user-00000");
      client.close();
      return answer.status === 200;
    }),
  );
  const baseResult = {
    sharedByEveryNode: shared.every(Boolean),
    put: compared({ sqlite: base.sqlite.put, postgres: base.postgres.put }, base.sqlite.put),
    get: compared({ sqlite: base.sqlite.get, postgres: base.postgres.get }, base.sqlite.get),
    postgresCpuUsPerOperation: round1((postgresBaseMs * 1000) / (2 * perRound * ROUNDS)),
  };
  console.log(`base: ${JSON.stringify(baseResult)}`);
  if (!baseResult.sharedByEveryNode) console.log("base: NOT shared by every node, so not in PostgreSQL");

  // What the nodes and PostgreSQL spend while nothing is asked of them (heartbeats, listening): the floor under the
  // CPU per request figures above, which include it.
  const connectionsAfter = await database.connections();
  const idleCpu = () => ({
    baseline: cpuMs(baseline.pid),
    nodes: cluster.reduce((sum, server) => sum + cpuMs(server.pid), 0),
  });
  const idleBefore = idleCpu();
  const idlePostgres = database.cpuMeter();
  await sleep(IDLE_WINDOW_MS);
  const idleAfter = idleCpu();
  const idlePostgresMs = idlePostgres();
  const perSecond = (ms: number) => round2(ms / (IDLE_WINDOW_MS / 1000));
  loads.end = load();

  const result = {
    scenario: `${NODES} nodes on one PostgreSQL database against one node on SQLite, on loopback`,
    nodes: NODES,
    loadAverage: loads,
    connections: { atStart: postgresConnections.open, atEnd: connectionsAfter.open, max: connectionsAfter.max },
    idleCpuMsPerSecond: {
      baseline: perSecond(idleAfter.baseline - idleBefore.baseline),
      perNode: perSecond((idleAfter.nodes - idleBefore.nodes) / NODES),
      postgres: idlePostgresMs === undefined ? null : perSecond(idlePostgresMs),
    },
    deploy: {
      deployedThrough: "a node that does not run the micro",
      answeredThrough: otherForwarder ? "a third node, which forwards" : "the node that runs the micro",
      samples: DEPLOYS,
      ...compared({ baseline: deploys.baseline, cluster: deploys.cluster }, deploys.baseline),
      clusterAsksUntilNewCode: Math.max(...deploys.clusterAsks),
    },
    cold: { samples: COLD, ...coldResult },
    warm: { requests: REQUESTS, latency: warmLatency, connections: CONNECTIONS, throughput: warmThroughput },
    base: { operations: BASE_OPS, ...baseResult },
  };
  await writeResult("cluster", result);
  console.log(`load average: ${JSON.stringify(loads)}`);
} finally {
  for (const server of servers.reverse()) await server.close();
  await database.drop();
}
