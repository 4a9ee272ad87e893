/**
 * Test helpers that drive Micros the way a user does: the real server as a
 * child process on a random port with its own data dir, the real CLI, and
 * real HTTP through the gateway. Each helper registers its own cleanup.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";
import { createTestDatabase, TEST_DATABASE_URL } from "./postgres.js";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const BIN = join(ROOT, "bin", "micros.js");
const FIXTURES = join(ROOT, "test", "fixtures");

/**
 * Cleanups run once the whole test file is done. They are collected here rather
 * than registered with `after()` at the call site, because a helper called from
 * a `before` hook would otherwise be cleaned up as soon as that hook ends.
 */
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs `cleanup` once the test file is done, after the cleanups registered later (they run in reverse). */
export function onCleanup(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

export async function useTmpDir(prefix = "micros-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** How long a stopping server may take: it cancels builds and drains instances, which takes seconds, not this. */
const STOP_MS = 60_000;

export interface MicrosServer {
  port: number;
  dataDir: string;
  token: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM, then wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Each data dir's PostgreSQL database, when the tests run on PostgreSQL: a restarted server finds its state. */
const databases = new Map<string, string>();

/** `--database` for a server on this data dir: none (SQLite) unless MICROS_TEST_DATABASE_URL asks for PostgreSQL. */
async function databaseFlags(dataDir: string, flags: string[]): Promise<string[]> {
  if (!TEST_DATABASE_URL || flags.includes("--database")) return [];
  let url = databases.get(dataDir);
  if (!url) {
    const database = await createTestDatabase();
    // Registered before the server's stop, so it runs after it (cleanups run in reverse).
    cleanups.push(() => database.drop());
    url = database.url;
    databases.set(dataDir, url);
  }
  return ["--database", url];
}

/** The PostgreSQL database of the servers on this data dir, when the tests run on PostgreSQL. */
export function databaseOf(dataDir: string): string | undefined {
  return databases.get(dataDir);
}

/** A server's process: its port once it listens, what it printed, and how to stop it. */
export interface ServerProcess {
  port: number;
  process: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited, however it ended. */
  exited: Promise<number | null>;
  /** SIGTERM, then wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawns `command args` (a `micros server`, maybe behind a wrapper such as nsenter) and waits until it says it
 * listens on `address`; a server that exits first fails the wait at once with what it printed.
 */
export async function spawnServer(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  address = "127.0.0.1",
): Promise<ServerProcess> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = new RegExp(`listening on http://${address.replaceAll(".", "\\.")}:(\\d+)`);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within 20 s, so it was killed:\n${output}`));
    }, 20_000);
    const check = () => {
      const match = listening.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout.off("data", check);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", check);
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited at start:\n${output}`));
    });
  });
  let stopped: Promise<number | null> | undefined;
  // A server that ignores SIGTERM fails its test and is killed, rather than keeping the test run waiting on it.
  const stop = () => {
    if (!stopped) {
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`server did not stop within ${STOP_MS / 1000} s of SIGTERM, so it was killed:\n${output}`));
        }, STOP_MS);
      });
      stopped = Promise.race([exited, killed]).finally(() => clearTimeout(timer));
    }
    return stopped;
  };
  return { port, process: child, output: () => output, exited, stop };
}

/**
 * Starts `micros server` on a fresh data dir (or `existingDataDir`). `token` is the admin's, for a server that
 * shares a database whose admin another server created: only that one wrote the token to its data dir.
 */
export async function useServer(
  flags: string[] = [],
  env: NodeJS.ProcessEnv = {},
  existingDataDir?: string,
  { token: adminToken }: { token?: string } = {},
): Promise<MicrosServer> {
  const dataDir = existingDataDir ?? (await useTmpDir("micros-data-"));
  const database = await databaseFlags(dataDir, flags);
  const server = await spawnServer(
    process.execPath,
    [BIN, "server", "--port", "0", "--data-dir", dataDir, ...database, ...flags],
    env,
  );
  cleanups.push(server.stop);
  const token = adminToken ?? (await readFile(join(dataDir, "admin-token"), "utf8")).trim();
  return { port: server.port, dataDir, token, process: server.process, output: server.output, stop: server.stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `micros` command with its own HOME, so stored credentials never leak between tests. A deploy to a
 * new server installs with an empty package cache, from the registry: give a slow registry minutes.
 */
export function cli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd, env: { PATH: process.env.PATH, ...options.env }, timeout: 300_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout, stderr });
      },
    );
  });
}

/** Environment for a CLI that is logged in to `server` through the environment variables. */
export function loggedIn(server: MicrosServer, home: string): NodeJS.ProcessEnv {
  return { HOME: home, MICROS_HOST: `http://localhost:${server.port}`, MICROS_ACCESS_TOKEN: server.token };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  bytes: Buffer;
}

/**
 * An HTTP request to the server's port with the given Host header, as a browser would send for a micro's URL; to
 * 127.0.0.1 unless `address` names the server's.
 */
export function request(
  port: number,
  host: string,
  path = "/",
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    address?: string;
    signal?: AbortSignal;
  } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: options.address ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { ...options.headers, host },
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString("utf8"), bytes });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Calls the control API directly, for what the CLI does not show. */
export async function api<T>(
  server: MicrosServer,
  path: string,
  token = server.token,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * Processes that belong to the server with data dir `dir`: their working directory or
 * command line (a sandbox names the release it binds) is inside it.
 */
export async function processesIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (cwd.startsWith(dir) || cmdline.includes(dir)) found.push(Number(entry));
  }
  return found;
}

/** A fresh copy of a fixture app (or an example) in a temp folder named `name`. */
export async function copyApp(source: string, name: string): Promise<string> {
  const dir = join(await useTmpDir(), name);
  const from = source.startsWith("examples/") ? join(ROOT, source) : join(FIXTURES, source);
  await cp(from, dir, { recursive: true });
  return dir;
}

export async function writeApp(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

/** What the server printed that matches `pattern`, once it has: a line may arrive after the one `useServer` waits for. */
export function printed(server: MicrosServer, pattern: RegExp): Promise<RegExpExecArray> {
  return waitFor(`the server to print ${pattern}`, async () => pattern.exec(server.output()) ?? undefined);
}

/** Polls `check` until it returns a value, failing with `what` after the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
