/**
 * Base: what a get, a put and a filtered query cost, against the same operations on the embedded store called
 * directly in this process.
 *
 *   micro   from inside a micro: bench/base-micro, deployed on the real server (`micros server`) in its real
 *           sandbox, with Deta's SDK (1.2.0, unmodified, no settings) calling https://database.deta.sh as on Deta;
 *           the micro times its own loop of sequential operations and answers the samples, so the gateway's hop
 *           to the micro is not counted
 *   http    from the host: Base under /base on the server's port, one kept-alive connection, one request at a
 *           time, with the project key as a micro sends it
 *   direct  BaseStore on a data.db of its own in a temp dir: the SQLite work alone, no HTTP (with --database, the
 *           PostgreSQL store's Base on that database, its own pool, a base of its own)
 *
 * get/put: sequential single-item operations, p50 and p99, a put then a get, the three ways taking turns in rounds.
 * Query: a base of 10,000 items (~90 bytes each), three filters read to the end (following `last` across pages),
 * among them one no index or substring search narrows (`not_contains` on a list every item holds).
 *
 *   npm run bench:base [-- --requests 2000 --rounds 4 --queries 30] [-- --database postgres://.../<empty database>]
 *
 * With --database the server keeps its store, and so Base, in that PostgreSQL database, which must be empty (the
 * server makes its admin there and writes the token the benchmark reads).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaseStore } from "../src/server/data/base/base-store.js";
import type { Bases } from "../src/server/data/base/bases.js";
import { prepareItem } from "../src/server/data/base/item.js";
import { PgBaseStore } from "../src/server/data/base/pg-base-store.js";
import { parseQuery } from "../src/server/data/base/query.js";
import { openDataDatabase } from "../src/server/data/data-database.js";
import { PostgresStore } from "../src/server/store/postgres/postgres-store.js";
import { baseClient, startServer, stats, writeResult } from "./lib.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const at = process.argv.indexOf("--database");
const DATABASE = at === -1 ? undefined : process.argv[at + 1];
const REQUESTS = flag("requests", 2000);
const ROUNDS = flag("rounds", 4);
const QUERIES = flag("queries", 30);
const ITEMS = 10_000;
/** The direct store's base: on PostgreSQL it shares the server's database, beside the base the server fills. */
const DIRECT_BASE = "direct";
const CITIES = ["Berlin", "Lagos", "Lima", "Oslo", "Pune", "Quito", "Riga", "Seoul", "Tunis", "Xi'an"];

function item(i: number) {
  return {
    key: `user-${String(i).padStart(5, "0")}`,
    name: `User number ${i}`,
    age: i % 100,
    city: CITIES[i % CITIES.length] as string,
    tags: ["member", i % 3 === 0 ? "gold" : "silver"],
  };
}

/**
 * `substring`: a substring of a string. `equality and order`: equality and a numeric comparison. `every item`:
 * `not_contains` on a list every item holds, which no substring search on the stored text can rule out, so SQLite
 * reads into every one of the 10,000 items (before this ran in SQL, JavaScript parsed each): the worst case.
 */
const FILTERS = {
  substring: [{ "name?contains": "99" }],
  "equality and order": [{ city: "Berlin", "age?gte": 50 }],
  "every item": [{ "tags?not_contains": "member" }],
};

/** p50 and p99 of each way, and the micro's over the store's alone. */
function compared(micro: number[], http: number[], direct: number[]) {
  const ratio = (p: "p50" | "p99") => Math.round((stats(micro)[p] / stats(direct)[p]) * 10) / 10;
  return {
    micro: stats(micro),
    http: stats(http),
    direct: stats(direct),
    microOverDirect: { p50: ratio("p50"), p99: ratio("p99") },
  };
}

const server = await startServer(["--warm-pool", "0", ...(DATABASE ? ["--database", DATABASE] : [])]);
const postgres = DATABASE ? await PostgresStore.open(DATABASE) : undefined;
const direct = await mkdtemp(join(tmpdir(), "micros-bench-base-"));
try {
  const base = await baseClient(server);
  const call = base.call;
  const project = { id: base.projectId };
  const store: Bases = postgres
    ? new PgBaseStore(postgres.db)
    : new BaseStore(openDataDatabase(join(direct, "data.db")));
  await server.deploy("bench/base-micro", "basebench");
  /** `count` puts and gets timed inside the micro, in milliseconds. */
  const fromMicro = async (count: number): Promise<{ put: number[]; get: number[] }> => {
    const all = { put: [] as number[], get: [] as number[] };
    // A hundred at a time, well inside a micro's 10 s limit even when the machine is busy.
    for (let done = 0; done < count; done += 100) {
      const some = await microBatch(Math.min(100, count - done));
      all.put.push(...some.put);
      all.get.push(...some.get);
    }
    return all;
  };
  const microBatch = (count: number): Promise<{ put: number[]; get: number[] }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: server.port, path: `/?n=${count}`, headers: { host: `basebench.localhost` } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () =>
            res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`micro: ${res.statusCode} ${text}`)),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });

  const timed = async (work: () => unknown): Promise<number> => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };

  // get and put, taking turns.
  const samples = {
    microPut: [] as number[],
    microGet: [] as number[],
    httpPut: [] as number[],
    httpGet: [] as number[],
    directPut: [] as number[],
    directGet: [] as number[],
  };
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  for (let i = 0; i < 200; i++) await call("PUT", "/items", { items: [item(i)] });
  // The micro's start, its first connection to Base and its code's first runs are not what is measured.
  await fromMicro(200);
  for (let round = 0; round < ROUNDS; round++) {
    const inside = await fromMicro(perRound);
    samples.microPut.push(...inside.put);
    samples.microGet.push(...inside.get);
    for (let i = 0; i < perRound; i++) {
      const value = item(i);
      samples.httpPut.push(
        await timed(async () => {
          const answer = await call("PUT", "/items", { items: [value] });
          if (answer.status !== 207) throw new Error(`put: ${answer.status} ${answer.body}`);
        }),
      );
      samples.httpGet.push(
        await timed(async () => {
          const answer = await call("GET", `/items/${value.key}`);
          if (answer.status !== 200) throw new Error(`get: ${answer.status} ${answer.body}`);
        }),
      );
    }
    for (let i = 0; i < perRound; i++) {
      const value = item(i);
      samples.directPut.push(await timed(() => store.put(project.id, DIRECT_BASE, [prepareItem(value)])));
      samples.directGet.push(await timed(() => store.get(project.id, DIRECT_BASE, value.key)));
    }
  }

  // A base of 10,000 items, in batches of 25 as the SDKs put them.
  for (let start = 0; start < ITEMS; start += 25) {
    const batch = Array.from({ length: 25 }, (_, i) => item(start + i));
    await call("PUT", "/items", { items: batch });
    await store.put(project.id, DIRECT_BASE, batch.map(prepareItem));
  }
  const queries: Record<
    string,
    { http: number[]; direct: number[]; directCpu: number[]; matches: number; pages: number }
  > = {};
  for (const [name, query] of Object.entries(FILTERS)) {
    const result = { http: [] as number[], direct: [] as number[], directCpu: [] as number[], matches: 0, pages: 0 };
    for (let run = 0; run < QUERIES; run++) {
      let matches = 0;
      let pages = 0;
      result.http.push(
        await timed(async () => {
          let last: string | undefined;
          do {
            const answer = await call("POST", "/query", { query, ...(last && { last }) });
            const page = JSON.parse(answer.body) as { paging: { last?: string }; items: unknown[] };
            matches += page.items.length;
            pages++;
            last = page.paging.last;
          } while (last);
        }),
      );
      result.matches = matches;
      result.pages = pages;
      const parsed = parseQuery(query);
      // The process's CPU time too: on a shared machine the wall time is mostly waiting for a core.
      const cpu = process.cpuUsage();
      result.direct.push(
        await timed(async () => {
          let last: string | undefined;
          do last = (await store.query(project.id, DIRECT_BASE, parsed, last ? { last } : {})).last;
          while (last);
        }),
      );
      const used = process.cpuUsage(cpu);
      result.directCpu.push((used.user + used.system) / 1000);
    }
    queries[name] = result;
  }

  const results = {
    requests: REQUESTS,
    get: compared(samples.microGet, samples.httpGet, samples.directGet),
    put: compared(samples.microPut, samples.httpPut, samples.directPut),
    query: Object.fromEntries(
      Object.entries(queries).map(([name, result]) => [
        name,
        {
          filter: FILTERS[name as keyof typeof FILTERS],
          items: ITEMS,
          matches: result.matches,
          pages: result.pages,
          http: stats(result.http),
          direct: stats(result.direct),
          directCpu: stats(result.directCpu),
        },
      ]),
    ),
  };
  console.log(JSON.stringify(results, null, 2));
  await writeResult(DATABASE ? "base-postgres" : "base", results);
  base.close();
} finally {
  await server.close();
  await postgres?.close();
  await rm(direct, { recursive: true, force: true });
}
