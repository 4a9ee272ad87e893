/**
 * Scale-out: a CPU-bound micro (a fixed ~200 ms of arithmetic per request) under concurrent load, on a server that
 * starts more instances of a busy micro (its default --max-instances). Baseline, in the same run: the same micro on
 * a server started with --max-instances 1, where every request queues on one single-threaded instance. For scale,
 * what the machine itself gives: the handler's work run bare on the host in one process, then in one per core at once
 * (on shared or hyperthreaded cores, two processes do not get twice the work done).
 *
 *   npm run bench:scale-out [-- --requests 320 --concurrency 16]
 */
import { spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type BenchServer, ROOT, startServer, stats, timeToFirstByte, writeResult } from "./lib.js";

const FIXTURE = "test/fixtures/cpu-bound";
const cores = availableParallelism();

const option = (name: string) => Number(process.argv[process.argv.indexOf(name) + 1]) || undefined;
const requests = option("--requests") ?? 320;
const concurrency = option("--concurrency") ?? 16;
const round = (n: number) => Math.round(n * 100) / 100;

interface Run {
  throughput: number;
  latency: ReturnType<typeof stats>;
  instances: number;
}

async function measure(server: BenchServer): Promise<Run> {
  const dir = await server.deploy(FIXTURE, "cpu-bound");
  const { id } = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")) as { id: string };
  const send = () => timeToFirstByte(server.port, `cpu-bound.localhost:${server.port}`);
  // One burst first, so the instances the load calls for have started: cold starts are another benchmark's subject.
  await Promise.all(Array.from({ length: concurrency }, send));
  const latencies: number[] = [];
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < requests) {
        sent++;
        latencies.push(await send());
      }
    }),
  );
  const elapsed = performance.now() - started;
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}`, {
    headers: { authorization: `Bearer ${server.env.MICROS_ACCESS_TOKEN}` },
  });
  const { micro } = (await res.json()) as { micro: { instances: unknown[] } };
  return {
    throughput: round((requests * 1000) / elapsed),
    latency: stats(latencies),
    instances: micro.instances.length,
  };
}

async function run(flags: string[]): Promise<Run> {
  const server = await startServer(flags);
  try {
    return await measure(server);
  } finally {
    await server.close();
  }
}

/** Requests per second when `processes` bare node processes each run the handler `rounds` times at once. */
async function bare(processes: number, rounds = 10): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "micros-bench-"));
  try {
    // A copy outside the repository, whose package.json would make the CommonJS fixture an ES module.
    await cp(join(ROOT, FIXTURE), dir, { recursive: true });
    const script = `const handle = require(${JSON.stringify(join(dir, "index.js"))});
      for (let i = 0; i < ${rounds}; i++) handle({}, { setHeader() {}, end() {} });`;
    const started = performance.now();
    await Promise.all(
      Array.from(
        { length: processes },
        () =>
          new Promise<void>((done, fail) =>
            spawn(process.execPath, ["-e", script], { stdio: "inherit" }).once("exit", (code) =>
              code === 0 ? done() : fail(new Error(`the bare run exited with ${code}`)),
            ),
          ),
      ),
    );
    return round((processes * rounds * 1000) / (performance.now() - started));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const bareOne = await bare(1);
const bareAll = await bare(cores);
const scaled = await run([]);
const single = await run(["--max-instances", "1"]);
const ratio = round(scaled.throughput / single.throughput);
const bareRatio = round(bareAll / bareOne);
const line = (name: string, r: Run) =>
  `${name.padEnd(15)} ${r.throughput} req/s | p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms | ${r.instances} instance(s)`;
console.log(line("scale-out", scaled));
console.log(line("max-instances 1", single));
console.log(`throughput ratio ${ratio} (${cores} cores)`);
console.log(`bare on the host: 1 process ${bareOne} req/s, ${cores} processes ${bareAll} req/s, ratio ${bareRatio}`);
await writeResult("scale-out", {
  scenario: "CPU-bound micro under concurrent load, scale-out vs --max-instances 1",
  cores,
  requests,
  concurrency,
  scaleOut: scaled,
  maxInstances1: single,
  ratio,
  bare: { oneProcess: bareOne, processPerCore: bareAll, ratio: bareRatio },
});
