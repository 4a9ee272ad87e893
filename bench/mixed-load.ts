/**
 * Mixed load: 20,000 requests from 256 connections over micros that are warm and micros that keep going cold,
 * with a share of clients that give up early, on a server with a 1 s idle timeout. Then the load stops and every
 * instance must be asleep once the idle timeout has passed: no lease may leak, whatever the clients did.
 *
 * Four "hot" micros take 90% of the requests. Twenty "cold" micros, in four groups, take the rest: only one group
 * is asked at a time, for 4 s each, so each group sleeps between its turns and wakes with cold starts. One request
 * in a hundred (each for a cold micro) is abandoned by its client after 5 ms, mostly during a cold start; those are
 * expected to end without an answer. Every other request must be a 200.
 *
 *   npm run bench:mixed-load [-- --requests 20000 --connections 256 --sandbox none]
 */
import { Agent, request } from "node:http";
import { microId, startServer, stats, writeResult } from "./lib.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

const REQUESTS = flag("requests", 20_000);
const CONNECTIONS = flag("connections", 256);
const HOT = 4;
const COLD_GROUPS = 4;
const COLD_PER_GROUP = 5;
const GROUP_TURN_MS = 4000;
const IDLE_TIMEOUT_S = 1;

const APP = "test/fixtures/frameworks/plain";

// `--sandbox none` measures the request path alone, without the cost of building sandboxes.
const sandbox = process.argv.includes("--sandbox")
  ? ["--sandbox", process.argv[process.argv.indexOf("--sandbox") + 1] ?? ""]
  : [];
const server = await startServer(["--idle-timeout", `${IDLE_TIMEOUT_S}s`, ...sandbox]);
try {
  const names = [
    ...Array.from({ length: HOT }, (_, i) => `hot${i}`),
    ...Array.from({ length: COLD_GROUPS * COLD_PER_GROUP }, (_, i) => `cold${i}`),
  ];
  const ids = new Map<string, string>();
  // Deployed a few at a time: each deploy is a CLI process and the daemon's work.
  for (let i = 0; i < names.length; i += 2) {
    await Promise.all(
      names.slice(i, i + 2).map(async (name) => {
        ids.set(name, await microId(await server.deploy(APP, name)));
      }),
    );
  }

  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const started = performance.now();
  const latencies: number[] = [];
  const unexpected: string[] = [];
  let abandoned = 0;
  let sent = 0;

  const pick = (n: number): string => {
    if (n % 10 !== 0) return `hot${n % HOT}`;
    const group = Math.floor((performance.now() - started) / GROUP_TURN_MS) % COLD_GROUPS;
    return `cold${group * COLD_PER_GROUP + (Math.floor(n / 10) % COLD_PER_GROUP)}`;
  };

  const one = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const name = pick(n);
      // One in a hundred, always one for a cold micro: most are abandoned during a cold start.
      const giveUp = n % 100 === 10;
      let answered = false;
      const begun = performance.now();
      const req = request(
        { host: "127.0.0.1", port: server.port, path: "/hello", headers: { host: `${name}.localhost` }, agent },
        (res) => {
          answered = true;
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.push(performance.now() - begun);
            else if (!giveUp) unexpected.push(`${name}: ${res.statusCode}`);
            resolve();
          });
          res.on("error", () => resolve());
        },
      );
      req.on("error", (err) => {
        if (!giveUp) unexpected.push(`${name}: ${err.message}`);
        resolve();
      });
      if (giveUp) {
        setTimeout(() => {
          if (answered) return;
          abandoned++;
          req.destroy();
        }, 5);
      }
      req.end();
    });

  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < REQUESTS) await one(sent++);
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();

  // Every instance must be asleep after the idle timeout (plus the time a stop takes).
  const stoppedAt = performance.now();
  let awake = Number.POSITIVE_INFINITY;
  while (performance.now() - stoppedAt < 15_000) {
    awake = 0;
    for (const id of ids.values()) {
      const { micro } = await server.api<{ micro: { instances: unknown[] } }>(`/v1/micros/${id}`);
      awake += micro.instances.length;
    }
    if (awake === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const result = {
    scenario: "20,000 requests at 256 connections over hot and cold micros, 1% abandoned by the client",
    sandbox: sandbox[1] ?? "bubblewrap",
    requests: REQUESTS,
    connections: CONNECTIONS,
    throughput: Math.round((REQUESTS * 1000) / elapsed),
    latency: stats(latencies),
    answered: latencies.length,
    abandoned,
    unexpectedErrors: unexpected.length,
    firstUnexpected: unexpected.slice(0, 5),
    instancesAwakeAfterIdle: awake,
    allAsleepWithinMs: awake === 0 ? Math.round(performance.now() - stoppedAt) : null,
  };
  console.log(JSON.stringify(result, null, 2));
  await writeResult("mixed-load", result);
} finally {
  await server.close();
}
