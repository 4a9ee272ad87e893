/**
 * Capacity: what micros that sleep cost one node. A micro asleep has no process and no cgroup (bench/memory.ts
 * checks that), only rows in the store: this measures what those rows cost the daemon, its memory and the list every
 * client reads (`GET /v1/micros`, the dashboard's and `micros list`'s), with 100 and then 1,000 micros registered,
 * on SQLite and on PostgreSQL (a database made for the run, MICROS_BENCH_DATABASE_URL) in the same run. Baseline:
 * the same daemon's RSS right after start, with no micro. The RSS includes whatever garbage the lists left that the
 * heap has not collected yet: an upper bound of what the micros hold, which varies from run to run.
 *
 * The micros are made through the API (`POST /v1/micros`, as the dashboard's benchmark does) and never deployed, so
 * they have no release: deploying 1,000 would take most of an hour here.
 *
 *   npm run bench:capacity [-- --micros 1000 --samples 10]
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { type BenchServer, startServer, stats, writeResult } from "./lib.js";
import { createBenchDatabase } from "./postgres.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const MICROS = flag("micros", 1000);
const SAMPLES = flag("samples", 10);
/** The first count listed: one tenth of the whole, so the two lists show how the time grows. */
const FIRST = Math.ceil(MICROS / 10);
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** A process's resident memory, in bytes. */
function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** The daemon's RSS once the garbage of what it just did has had time to go. */
async function settledRss(server: BenchServer): Promise<number> {
  await sleep(2000);
  return rss(server.pid);
}

async function create(server: BenchServer, from: number, to: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = from; i < to; i++) {
    const start = performance.now();
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/micros`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.env.MICROS_ACCESS_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `micro-${String(i).padStart(4, "0")}`, runtime: "node" }),
    });
    if (res.status !== 201) throw new Error(`creating a micro: ${res.status} ${await res.text()}`);
    times.push(performance.now() - start);
  }
  return times;
}

/** `GET /v1/micros` `SAMPLES` times; checks it lists `count`; the times and the size of the answer's JSON. */
async function list(server: BenchServer, count: number): Promise<{ times: number[]; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    const answer = await server.api<{ micros: unknown[] }>("/v1/micros");
    times.push(performance.now() - start);
    if (answer.micros.length !== count) throw new Error(`listed ${answer.micros.length} micros, expected ${count}`);
    bytes = JSON.stringify(answer).length;
  }
  return { times, bytes };
}

interface Store {
  name: "sqlite" | "postgres";
  server: BenchServer;
  baselineRss: number;
  create: number[];
  list: Record<number, { times: number[]; bytes: number }>;
  rss: Record<number, number>;
}

const loads: number[][] = [loadavg()];
const database = await createBenchDatabase();
const servers: BenchServer[] = [];
try {
  // No sandboxes prepared ahead: nothing runs, as on a node whose micros all sleep.
  const flags = ["--warm-pool", "0"];
  const sqlite = await startServer(flags);
  servers.push(sqlite);
  const postgres = await startServer([...flags, "--database", database.url]);
  servers.push(postgres);
  const stores: Store[] = [];
  for (const [name, server] of [
    ["sqlite", sqlite],
    ["postgres", postgres],
  ] as const) {
    stores.push({ name, server, baselineRss: await settledRss(server), create: [], list: {}, rss: {} });
  }
  // The stores take turns at each step, so the machine's drift hits both alike.
  for (const [from, to] of [
    [0, FIRST],
    [FIRST, MICROS],
  ] as const) {
    for (const store of stores) store.create.push(...(await create(store.server, from, to)));
    for (const store of stores) store.list[to] = await list(store.server, to);
    for (const store of stores) store.rss[to] = await settledRss(store.server);
    loads.push(loadavg());
  }

  const result = Object.fromEntries(
    stores.map((store) => [
      store.name,
      {
        createMs: stats(store.create),
        listMs: Object.fromEntries(Object.entries(store.list).map(([count, { times }]) => [count, stats(times)])),
        listKb: Object.fromEntries(
          Object.entries(store.list).map(([count, { bytes }]) => [count, Math.round(bytes / 1024)]),
        ),
        daemonRssMb: {
          baseline: mb(store.baselineRss),
          withMicros: Object.fromEntries(Object.entries(store.rss).map(([count, bytes]) => [count, mb(bytes)])),
          perMicroKb: Math.round(((store.rss[MICROS] as number) - store.baselineRss) / MICROS / 1024),
        },
      },
    ]),
  );
  console.log(JSON.stringify(result, null, 2));
  console.log(`load average: ${JSON.stringify(loads.map((load) => load.map((v) => Math.round(v * 100) / 100)))}`);
  await writeResult("capacity", {
    scenario: "one node with micros registered and asleep, SQLite and PostgreSQL",
    micros: MICROS,
    samples: SAMPLES,
    loadAverage: loads,
    ...result,
  });
} finally {
  for (const server of servers) await server.close();
  await database.drop();
}
