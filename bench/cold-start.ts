/**
 * Cold start: from a request to the first response byte, for a micro that is
 * asleep, through the gateway and inside the full sandbox. Baseline, in the
 * same run: the same app started bare on the host (`node` loading it and
 * listening on a port; `python -m uvicorn` for Python) to its first response.
 *
 *   npm run bench:cold-start [-- --samples 30]
 */
import { execFileSync, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type BenchServer, freePort, ROOT, startServer, stats, timeToFirstByte, writeResult } from "./lib.js";

const samples = Number(process.argv[process.argv.indexOf("--samples") + 1]) || 30;

interface App {
  name: string;
  source: string;
  path: string;
  /** Starts the app bare on `port`; returns the process. */
  bare(dir: string, port: number): ReturnType<typeof spawn>;
}

const clean = { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_ENV: "production" };
const node = (entry: string) => (dir: string, port: number) =>
  spawn(process.execPath, [join(ROOT, "bench", "bare-node.mjs"), dir, entry, String(port)], {
    env: clean,
    stdio: "ignore",
  });
const uvicorn = (iface: string) => (dir: string, port: number) =>
  spawn(
    "/usr/bin/python3",
    [
      "-m",
      "uvicorn",
      "main:app",
      "--app-dir",
      dir,
      "--port",
      String(port),
      "--interface",
      iface,
      "--log-level",
      "warning",
      "--lifespan",
      "off",
    ],
    {
      env: clean,
      stdio: "ignore",
    },
  );

const APPS: App[] = [
  { name: "express", source: "examples/express-hello", path: "/", bare: node("index.js") },
  { name: "fastify", source: "examples/fastify", path: "/hello", bare: node("index.js") },
  { name: "plain", source: "test/fixtures/frameworks/plain", path: "/hello", bare: node("index.js") },
  { name: "flask", source: "examples/flask", path: "/hello", bare: uvicorn("wsgi") },
  { name: "fastapi", source: "examples/fastapi", path: "/hello", bare: uvicorn("asgi3") },
];

/** Sandboxes kept ready are replaced in the background after each start; a quiet server has them all again. */
const SETTLE_MS = 1000;

async function asleep(server: BenchServer, id: string): Promise<void> {
  for (;;) {
    const { micro } = await server.api<{ micro: { instances: unknown[] } }>(`/v1/micros/${id}`);
    if (micro.instances.length === 0) break;
    await new Promise((done) => setTimeout(done, 20));
  }
  await new Promise((done) => setTimeout(done, SETTLE_MS));
}

const server = await startServer(["--idle-timeout", "100ms"]);
const results: Record<string, unknown> = {};
try {
  for (const app of APPS) {
    const name = `cold-${app.name}`;
    const dir = await server.deploy(app.source, name);
    const { id } = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")) as { id: string };
    if (app.source.startsWith("examples/express") || app.name === "fastify") {
      execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
        cwd: dir,
        stdio: "ignore",
      });
    }
    const platform: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < samples; i++) {
      await asleep(server, id);
      platform.push(await timeToFirstByte(server.port, `${name}.localhost:${server.port}`, app.path));
      const port = await freePort();
      const started = performance.now();
      const child = app.bare(dir, port);
      await timeToFirstByte(port, "127.0.0.1", app.path, true);
      bare.push(performance.now() - started);
      child.kill("SIGKILL");
    }
    const result = { platform: stats(platform), bare: stats(bare), ratio: stats(platform).p50 / stats(bare).p50 };
    results[app.name] = result;
    console.log(
      `${app.name.padEnd(8)} platform p50 ${result.platform.p50} ms p99 ${result.platform.p99} ms | bare p50 ${result.bare.p50} ms p99 ${result.bare.p99} ms | ratio ${result.ratio.toFixed(2)}`,
    );
  }
  await writeResult("cold-start", {
    scenario: "cold start to first byte, sandboxed vs bare on the host",
    samples,
    results,
  });
} finally {
  await server.close();
}
