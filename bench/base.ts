/**
 * Base: what a get, a put and a filtered query cost through the service, against the same operations on the
 * embedded store called directly in this process.
 *
 *   http    the real server (`micros server`), Base under /base on its port, one kept-alive connection, one
 *           request at a time, with the project key as a micro sends it
 *   direct  BaseStore on a data.db of its own in a temp dir: the SQLite work alone, no HTTP
 *
 * get/put: sequential single-item operations, p50 and p99, the two kinds taking turns in rounds. Query: a base of
 * 10,000 items (~90 bytes each), three filters read to the end (following `last` across pages), from one SQL
 * narrows most to one it cannot narrow at all.
 *
 *   npm run bench:base [-- --requests 2000 --rounds 4 --queries 30]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaseStore } from "../src/server/data/base/base-store.js";
import { prepareItem } from "../src/server/data/base/item.js";
import { parseQuery } from "../src/server/data/base/query.js";
import { openDataDatabase } from "../src/server/data/data-database.js";
import { startServer, stats, writeResult } from "./lib.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const REQUESTS = flag("requests", 2000);
const ROUNDS = flag("rounds", 4);
const QUERIES = flag("queries", 30);
const ITEMS = 10_000;
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
 * `substring`: SQL narrows with a substring search, then items are parsed and checked. `prefiltered`: equality and a
 * numeric comparison, narrowed the same way and by json_extract. `every item`: nothing SQL can narrow
 * (`not_contains`), so each of the 10,000 items is parsed and checked: the worst case.
 */
const FILTERS = {
  substring: [{ "name?contains": "99" }],
  prefiltered: [{ city: "Berlin", "age?gte": 50 }],
  "every item": [{ "tags?not_contains": "member" }],
};

interface Answer {
  status: number;
  body: string;
}

const server = await startServer(["--warm-pool", "0"]);
const direct = await mkdtemp(join(tmpdir(), "micros-bench-base-"));
try {
  const { key, project } = await server.api<{ key: string; project: { id: string } }>("/v1/projects/default/key");
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (method: string, path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: "127.0.0.1",
          port: server.port,
          method,
          agent,
          path: `/base/v1/${project.id}/bench${path}`,
          headers: { "x-api-key": key, ...(payload && { "content-type": "application/json" }) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  const store = new BaseStore(openDataDatabase(join(direct, "data.db")));

  const timed = async (work: () => unknown): Promise<number> => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };

  // get and put, taking turns.
  const samples = {
    httpPut: [] as number[],
    httpGet: [] as number[],
    directPut: [] as number[],
    directGet: [] as number[],
  };
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  for (let i = 0; i < 200; i++) await call("PUT", "/items", { items: [item(i)] });
  for (let round = 0; round < ROUNDS; round++) {
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
      samples.directPut.push(await timed(() => store.put(project.id, "bench", [prepareItem(value)])));
      samples.directGet.push(await timed(() => store.get(project.id, "bench", value.key)));
    }
  }

  // A base of 10,000 items, in batches of 25 as the SDKs put them.
  for (let start = 0; start < ITEMS; start += 25) {
    const batch = Array.from({ length: 25 }, (_, i) => item(start + i));
    await call("PUT", "/items", { items: batch });
    store.put(project.id, "bench", batch.map(prepareItem));
  }
  const queries: Record<string, { http: number[]; direct: number[]; matches: number; pages: number }> = {};
  for (const [name, query] of Object.entries(FILTERS)) {
    const result = { http: [] as number[], direct: [] as number[], matches: 0, pages: 0 };
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
      result.direct.push(
        await timed(() => {
          let last: string | undefined;
          do last = store.query(project.id, "bench", parsed, last ? { last } : {}).last;
          while (last);
        }),
      );
    }
    queries[name] = result;
  }

  const results = {
    requests: REQUESTS,
    get: { http: stats(samples.httpGet), direct: stats(samples.directGet) },
    put: { http: stats(samples.httpPut), direct: stats(samples.directPut) },
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
        },
      ]),
    ),
  };
  console.log(JSON.stringify(results, null, 2));
  await writeResult("base", results);
  agent.destroy();
} finally {
  await server.close();
  await rm(direct, { recursive: true, force: true });
}
