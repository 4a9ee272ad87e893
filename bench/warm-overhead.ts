/**
 * Warm overhead: what the gateway adds to a request for a micro that is awake.
 * The same express app (examples/express-hello, deployed through the real
 * server, in its sandbox) is measured three ways in one run:
 *
 *   direct   on the instance's own Unix socket (nothing in between)
 *   gateway  through the Micros gateway (Host: <subdomain>.localhost)
 *   nginx    through nginx proxying to the same socket (the baseline proxy)
 *
 * Latency: sequential requests over one keep-alive connection, the added p50
 * and p99 being the proxy's percentile minus the direct one. Throughput:
 * autocannon with 64 connections for a fixed duration. The variants take turns
 * in rounds, so drift hits them alike. Needs nginx (`apt-get install nginx`).
 *
 *   npm run bench:warm-overhead [-- --requests 2000 --duration 5 --rounds 4]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { cpuMs, freePort, microId, serverHasOption, startServer, stats, timeToFirstByte, writeResult } from "./lib.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]) || fallback;
}

/** Sequential requests per variant, split over the rounds; throughput seconds per variant and round. */
const REQUESTS = flag("requests", 2000);
const DURATION_S = flag("duration", 5);
const ROUNDS = flag("rounds", 4);
const WARMUP = 500;
const CONNECTIONS = 64;
const NGINX = "/usr/sbin/nginx";

interface Target {
  name: "direct" | "gateway" | "nginx";
  host: string;
  /** A Unix socket, or a TCP port on 127.0.0.1. */
  socketPath?: string;
  port?: number;
}

function get(target: Target, agent: Agent): Promise<void> {
  return new Promise((done, fail) => {
    const where = target.socketPath ? { socketPath: target.socketPath } : { host: "127.0.0.1", port: target.port };
    request({ ...where, agent, path: "/", headers: { host: target.host } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? done() : fail(new Error(`${target.name}: ${res.statusCode}`))));
    })
      .on("error", fail)
      .end();
  });
}

/** Milliseconds per request, one request at a time over one kept-alive connection. */
async function sequential(target: Target, agent: Agent, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await get(target, agent);
    times.push(performance.now() - start);
  }
  return times;
}

interface Rate {
  reqPerSec: number;
  /** CPU per request, in µs, of the daemon and of nginx. */
  daemonUs: number;
  nginxUs: number;
}

/** Requests per second with CONNECTIONS connections for `seconds`, and what each request cost the proxies' CPU. */
async function throughput(target: Target, seconds: number, pids: { daemon: number; nginx: number }): Promise<Rate> {
  const daemon = cpuMs(pids.daemon);
  const nginx = cpuMs(pids.nginx);
  let firstError: unknown;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const run = autocannon(
      {
        url: target.socketPath ? "http://localhost/" : `http://127.0.0.1:${target.port}/`,
        ...(target.socketPath ? { socketPath: target.socketPath } : {}),
        headers: { host: target.host },
        connections: CONNECTIONS,
        duration: seconds,
      },
      (err, result) => (err ? fail(err) : done(result)),
    );
    run.on("reqError", (err) => {
      firstError ??= err;
    });
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`, {
      cause: firstError,
    });
  }
  const perRequest = (ms: number) => (ms * 1000) / result.requests.total;
  return {
    reqPerSec: result.requests.total / result.duration,
    daemonUs: perRequest(cpuMs(pids.daemon) - daemon),
    nginxUs: perRequest(cpuMs(pids.nginx) - nginx),
  };
}

/** nginx as a plain reverse proxy to the instance's socket, one process, keep-alive upstream connections. */
async function startNginx(socketPath: string): Promise<{ port: number; pid: number; close(): Promise<void> }> {
  if (!existsSync(NGINX)) throw new Error("this benchmark needs nginx: apt-get install nginx");
  const dir = await mkdtemp(join(tmpdir(), "micros-bench-nginx-"));
  const port = await freePort();
  const temp = (name: string) => join(dir, name);
  for (const name of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(temp(name));
  await writeFile(
    join(dir, "nginx.conf"),
    `daemon off;
master_process off;
worker_processes 1;
pid ${temp("nginx.pid")};
error_log ${temp("error.log")} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp("body")};
  proxy_temp_path ${temp("proxy")};
  fastcgi_temp_path ${temp("fastcgi")};
  uwsgi_temp_path ${temp("uwsgi")};
  scgi_temp_path ${temp("scgi")};
  upstream instance {
    server unix:${socketPath};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    # As the gateway does: a kept-alive connection is never closed after some number of requests.
    keepalive_requests 1000000;
    location / {
      proxy_pass http://instance;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", temp("error.log")], {
    stdio: "ignore",
  });
  const exited = new Promise((done) => child.once("exit", done));
  await timeToFirstByte(port, "nginx", "/", true);
  return {
    port,
    pid: child.pid as number,
    async close() {
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The host-side socket the instance serves on: `<data-dir>/run/<sandbox>/sock/http.sock` in the sandbox
 * (`run/<instance>/http.sock` without one). Sandboxes prepared ahead have none until they are given an app, so
 * with one micro awake exactly one exists.
 */
async function instanceSocket(runDir: string): Promise<string> {
  const found: string[] = [];
  for (const name of await readdir(runDir)) {
    for (const path of [join(runDir, name, "sock", "http.sock"), join(runDir, name, "http.sock")]) {
      if (existsSync(path)) found.push(path);
    }
  }
  if (found.length !== 1) throw new Error(`expected one instance socket under ${runDir}, found ${found.length}`);
  return found[0] as string;
}

const rotate = <T>(items: T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length] as T);
const round2 = (value: number) => Math.round(value * 100) / 100;

// Long idle timeout: the direct and nginx turns do not count as traffic, and the instance must stay the same one.
// One instance per micro, so the gateway's 64 connections reach the same single app process as the others' do.
const server = await startServer([
  "--idle-timeout",
  "1h",
  ...(serverHasOption("--max-instances") ? ["--max-instances", "1"] : []),
]);
let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
try {
  const dir = await server.deploy("examples/express-hello", "warm");
  const id = await microId(dir);
  const gateway: Target = { name: "gateway", host: `warm.localhost:${server.port}`, port: server.port };
  await timeToFirstByte(server.port, gateway.host);
  const { micro } = await server.api<{ micro: { instances: { id: string }[] } }>(`/v1/micros/${id}`);
  const [instance] = micro.instances;
  if (!instance || micro.instances.length !== 1) throw new Error("expected exactly one instance");
  const socketPath = await instanceSocket(join(server.dataDir, "run"));
  nginx = await startNginx(socketPath);
  const targets: Target[] = [
    { name: "direct", host: "warm.localhost", socketPath },
    gateway,
    { name: "nginx", host: `127.0.0.1:${nginx.port}`, port: nginx.port },
  ];

  const agents = new Map(targets.map((target) => [target.name, new Agent({ keepAlive: true, maxSockets: 1 })]));
  const times = new Map(targets.map((target) => [target.name, [] as number[]]));
  const rates = new Map(targets.map((target) => [target.name, [] as Rate[]]));
  const pids = { daemon: server.pid, nginx: nginx.pid };
  for (const target of targets) await sequential(target, agents.get(target.name) as Agent, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of rotate(targets, round)) {
      const batch = await sequential(target, agents.get(target.name) as Agent, Math.ceil(REQUESTS / ROUNDS));
      times.get(target.name)?.push(...batch);
    }
  }
  for (const agent of agents.values()) agent.destroy();
  for (const target of targets) await throughput(target, 1, pids);
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of rotate(targets, round)) {
      rates.get(target.name)?.push(await throughput(target, DURATION_S, pids));
    }
  }

  // The instance served every variant: had it been replaced, the direct and nginx figures would be of a dead socket.
  const after = await server.api<{ micro: { instances: { id: string }[] } }>(`/v1/micros/${id}`);
  if (after.micro.instances[0]?.id !== instance.id) throw new Error("the instance changed during the run");

  const latency = Object.fromEntries(targets.map(({ name }) => [name, stats(times.get(name) as number[])]));
  const mean = (name: string, pick: (rate: Rate) => number) => {
    const values = (rates.get(name as Target["name"]) as Rate[]).map(pick);
    return values.reduce((sum, value) => sum + value, 0) / values.length;
  };
  const reqPerSec = Object.fromEntries(targets.map(({ name }) => [name, Math.round(mean(name, (r) => r.reqPerSec))]));
  // The daemon spends CPU on every variant (the app's log lines are its to store); nginx only on its own.
  const cpuUs = Object.fromEntries(
    targets.map(({ name }) => [
      name,
      { daemon: Math.round(mean(name, (r) => r.daemonUs)), nginx: Math.round(mean(name, (r) => r.nginxUs)) },
    ]),
  );
  const direct = latency.direct as ReturnType<typeof stats>;
  const added = (name: string) => {
    const own = latency[name] as ReturnType<typeof stats>;
    return { p50: round2(own.p50 - direct.p50), p99: round2(own.p99 - direct.p99) };
  };
  const result = {
    latency,
    added: { gateway: added("gateway"), nginx: added("nginx") },
    throughput: reqPerSec,
    cpuPerRequestUs: cpuUs,
  };
  const ratio = {
    addedP50: result.added.nginx.p50 > 0 ? round2(result.added.gateway.p50 / result.added.nginx.p50) : null,
    addedP99: result.added.nginx.p99 > 0 ? round2(result.added.gateway.p99 / result.added.nginx.p99) : null,
    throughput: round2((reqPerSec.gateway as number) / (reqPerSec.nginx as number)),
  };
  for (const { name } of targets) {
    const own = latency[name] as ReturnType<typeof stats>;
    const extra = name === "direct" ? "" : ` | added p50 ${added(name).p50} ms p99 ${added(name).p99} ms`;
    console.log(
      `${name.padEnd(8)} p50 ${own.p50} ms p99 ${own.p99} ms${extra} | ${reqPerSec[name]} req/s at ${CONNECTIONS} connections`,
    );
  }
  console.log(
    `latency    gateway added p50 ${result.added.gateway.p50} ms p99 ${result.added.gateway.p99} ms | nginx added p50 ${result.added.nginx.p50} ms p99 ${result.added.nginx.p99} ms | ratio p50 ${ratio.addedP50} p99 ${ratio.addedP99}`,
  );
  console.log(
    `throughput gateway ${reqPerSec.gateway} req/s | nginx ${reqPerSec.nginx} req/s | direct ${reqPerSec.direct} req/s | ratio ${ratio.throughput}`,
  );
  const cpu = (name: string) => cpuUs[name] as { daemon: number; nginx: number };
  console.log(
    `cpu/request daemon: direct ${cpu("direct").daemon} µs, gateway ${cpu("gateway").daemon} µs | nginx process: ${cpu("nginx").nginx} µs`,
  );
  await writeResult("warm-overhead", {
    scenario: "warm request overhead: gateway and nginx vs the instance's own socket, express-hello in its sandbox",
    requests: REQUESTS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    ...result,
    ratio,
  });
} finally {
  await nginx?.close();
  await server.close();
}
