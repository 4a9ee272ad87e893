/**
 * Hostile instance: the daemon's memory while a micro attacks the instance boundary three ways, each on a fresh
 * server with the micro awake (test/fixtures/hostile-instance):
 *
 * - flood: the micro writes 600 MB to stdout without a newline;
 * - follower: a `micros logs --follow` client stops reading while the micro prints 200 MB of ordinary lines;
 * - answer: a `micros run` action answers 150 MB.
 *
 * The daemon's RSS is sampled every 20 ms during each attack: the baseline just before, the peak, and what the
 * attack's caller got (or that the daemon died).
 *
 *   npm run bench:hostile-instance
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { type BenchServer, BIN, microId, startServer, writeResult } from "./lib.js";

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round(bytes / MB);

function rss(pid: number): number | undefined {
  try {
    // A process that has died (a zombie until reaped) has no VmRSS line.
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

function get(port: number, host: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve(`${res.statusCode} ${body.slice(0, 120)}`));
    })
      .on("error", (err) => resolve(`failed: ${err.message}`))
      .end();
  });
}

interface Attack {
  name: string;
  run(server: BenchServer, dir: string, id: string, host: string): Promise<string>;
}

const ATTACKS: Attack[] = [
  {
    name: "flood: 600 MB on stdout without a newline",
    run: (server, _dir, _id, host) => get(server.port, host, "/flood?mb=600"),
  },
  {
    name: "follower: a logs --follow client stops reading, the micro prints 200 MB of lines",
    async run(server, _dir, id, host) {
      const follower = connect(server.port, "127.0.0.1");
      follower.write(
        `GET /v1/micros/${id}/logs?follow=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${server.env.MICROS_ACCESS_TOKEN}\r\n\r\n`,
      );
      follower.pause();
      const outcome = await get(server.port, host, "/spam?lines=200000");
      // Storing the lines (and passing them to the follower) happens as they are flushed: wait for all of them.
      await server.api(`/v1/micros/${id}/logs?limit=1`).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 2000));
      follower.destroy();
      return outcome;
    },
  },
  {
    name: "answer: a run action answers 150 MB",
    async run(server, dir, id) {
      execFileSync(process.execPath, [BIN, "update", "--memory", "1024"], {
        cwd: dir,
        env: server.env,
        stdio: "ignore",
      });
      try {
        const res = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}/run`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.env.MICROS_ACCESS_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ action: "big", args: {} }),
        });
        const text = await res.text();
        return `${res.status} ${text.slice(0, 120)}${text.length > 120 ? `… (${mb(text.length)} MB)` : ""}`;
      } catch (err) {
        return `failed: ${(err as Error).message}`;
      }
    },
  },
];

const results = [];
for (const attack of ATTACKS) {
  const server = await startServer(["--request-timeout", "120s"]);
  try {
    const dir = await server.deploy("test/fixtures/hostile-instance", "hostile");
    const id = await microId(dir);
    const host = `hostile.localhost:${server.port}`;
    await get(server.port, host, "/");
    const baseline = rss(server.pid) ?? 0;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(server.pid) ?? 0);
    }, 20);
    const outcome = await attack.run(server, dir, id, host);
    clearInterval(sampler);
    const after = rss(server.pid);
    const result = {
      attack: attack.name,
      baselineMb: mb(baseline),
      peakMb: mb(peak),
      afterMb: after === undefined ? null : mb(after),
      daemonAlive: after !== undefined,
      outcome,
    };
    console.log(JSON.stringify(result));
    results.push(result);
  } finally {
    // A daemon that died never reports its exit: do not wait on it.
    await Promise.race([server.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  }
}
await writeResult("hostile-instance", { scenario: "daemon RSS under three attacks from an instance", results });
