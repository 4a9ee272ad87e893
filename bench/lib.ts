/** Shared pieces of the benchmarks: a real server in a temp dir, a micro from a folder, timing helpers. */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
export const BIN = join(ROOT, "bin", "micros.js");

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

export function stats(values: readonly number[]): { p50: number; p99: number; n: number } {
  return { p50: round(percentile(values, 0.5)), p99: round(percentile(values, 0.99)), n: values.length };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Milliseconds from sending a GET to its first response byte (or until it could connect, when `retry`). */
export function timeToFirstByte(port: number, host: string, path = "/", retry = false): Promise<number> {
  const start = performance.now();
  const attempt = (): Promise<number> =>
    new Promise((done, fail) => {
      const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: false }, (res) => {
        const elapsed = performance.now() - start;
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? done(elapsed) : fail(new Error(`status ${res.statusCode}`))));
      });
      req.on("error", (err) => {
        if (retry && performance.now() - start < 20_000) setTimeout(() => attempt().then(done, fail), 1);
        else fail(err);
      });
      req.end();
    });
  return attempt();
}

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

export interface BenchServer {
  port: number;
  /** The daemon's process id. */
  pid: number;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  work: string;
  /** Deploys a copy of `source` as a micro named `name`; returns its folder. */
  deploy(source: string, name: string): Promise<string>;
  /** A GET on the control API, as the admin. */
  api<T>(path: string): Promise<T>;
  close(): Promise<void>;
}

/**
 * A server in a temp dir of its own. Only the node that creates the admin writes `<data-dir>/admin-token`: a further
 * node of a cluster is given the first node's token as `adminToken`.
 */
export async function startServer(flags: string[] = [], adminToken?: string): Promise<BenchServer> {
  const work = await mkdtemp(join(tmpdir(), "micros-bench-"));
  // Sandboxes bind their release from the data dir inside: every folder above it must be passable.
  await chmod(work, 0o711);
  const dataDir = join(work, "data");
  const server = spawn(process.execPath, [BIN, "server", "--port", "0", "--data-dir", dataDir, ...flags], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((done) => {
    let out = "";
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) done(Number(match[1]));
    });
  });
  const env = {
    ...process.env,
    HOME: work,
    MICROS_HOST: `http://127.0.0.1:${port}`,
    MICROS_ACCESS_TOKEN: adminToken ?? (await readFile(join(dataDir, "admin-token"), "utf8")).trim(),
  };
  return {
    port,
    pid: server.pid as number,
    dataDir,
    env,
    work,
    async deploy(source, name) {
      const dir = join(work, name);
      await cp(resolve(ROOT, source), dir, { recursive: true });
      execFileSync(process.execPath, [BIN, "new"], { cwd: dir, env, stdio: "ignore" });
      return dir;
    },
    async api<T>(path: string) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: { authorization: `Bearer ${env.MICROS_ACCESS_TOKEN}` },
      });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async close() {
      server.kill("SIGTERM");
      await new Promise((done) => server.once("exit", done));
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Whether this version of `micros server` takes an option (benchmarks pin settings that not every version has). */
export function serverHasOption(name: string): boolean {
  return execFileSync(process.execPath, [BIN, "server", "--help"], { encoding: "utf8" }).includes(name);
}

/**
 * Milliseconds a process's main thread has spent on a CPU so far, kernel time included: where Node and nginx do
 * their request work (/proc/<pid>/stat counts every thread, but in 10 ms ticks).
 */
export function cpuMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
}

/** The id `micros new` recorded in a micro's folder. */
export async function microId(dir: string): Promise<string> {
  const { id } = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")) as { id: string };
  return id;
}

export async function writeResult(name: string, result: unknown): Promise<void> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(join(ROOT, "bench", "results"), { recursive: true });
  await writeFile(join(ROOT, "bench", "results", `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

export interface Answer {
  status: number;
  body: string;
}

/** Base on a platform's /base, from the host, as a micro's project key opens it: one kept-alive connection. */
export interface BaseClient {
  /** The project whose key the client sends. */
  projectId: string;
  call(method: string, path: string, body?: unknown): Promise<Answer>;
  close(): void;
}

/** A client of base `bench` of the admin's default project, on `server` (the admin's token is `admin`'s). */
export async function baseClient(server: BenchServer, admin: BenchServer = server): Promise<BaseClient> {
  const { key, project } = await admin.api<{ key: string; project: { id: string } }>("/v1/projects/default/key");
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    projectId: project.id,
    call: (method, path, body) =>
      new Promise((done, fail) => {
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
            res.on("end", () => done({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", fail);
        req.end(payload);
      }),
    close: () => agent.destroy(),
  };
}
