/**
 * Redeploy benchmark: a one-file change to a micro with ~70 npm packages
 * (examples/express-hello: express and its dependencies), from `micros deploy`
 * until the new code answers through the gateway. Baseline, measured in the
 * same run on the same machine: `npm ci` of the same app in a fresh folder,
 * which is what every deploy would cost without incremental uploads and
 * install reuse.
 *
 *   npm run bench:redeploy [-- --samples 10]
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "micros.js");
const samples = Number(process.argv[process.argv.indexOf("--samples") + 1]) || 10;

function get(port: number, host: string): Promise<string> {
  return new Promise((done, fail) => {
    request({ host: "127.0.0.1", port, path: "/", headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk;
      });
      res.on("end", () => done(body));
    })
      .on("error", fail)
      .end();
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

const work = await mkdtemp(join(tmpdir(), "micros-bench-"));
// Sandboxes bind their release from the data dir inside: every folder above it must be passable.
await chmod(work, 0o711);
const dataDir = join(work, "data");
const server = spawn(process.execPath, [BIN, "server", "--port", "0", "--data-dir", dataDir], {
  stdio: ["ignore", "pipe", "inherit"],
});
try {
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
    MICROS_ACCESS_TOKEN: (await readFile(join(dataDir, "admin-token"), "utf8")).trim(),
  };
  const app = join(work, "bench-app");
  await cp(join(ROOT, "examples", "express-hello"), app, { recursive: true });
  execFileSync(process.execPath, [BIN, "new"], { cwd: app, env, stdio: "ignore" });
  const host = `bench-app.localhost:${port}`;
  const source = await readFile(join(app, "index.js"), "utf8");

  const baseline: number[] = [];
  const redeploy: number[] = [];
  for (let i = 0; i < samples; i++) {
    // Baseline: a full install of the same dependencies, with npm's cache warm (as the platform's is).
    const fresh = join(work, `baseline-${i}`);
    await mkdir(fresh);
    for (const file of ["package.json", "package-lock.json"]) await cp(join(app, file), join(fresh, file));
    let start = performance.now();
    execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], {
      cwd: fresh,
      stdio: "ignore",
    });
    baseline.push(performance.now() - start);
    await rm(fresh, { recursive: true, force: true });

    const marker = `Hello (${i}) from`;
    await writeFile(join(app, "index.js"), source.replace("Hello from", marker));
    start = performance.now();
    execFileSync(process.execPath, [BIN, "deploy"], { cwd: app, env, stdio: "ignore" });
    if (!(await get(port, host)).startsWith(marker.replace(" from", "")))
      throw new Error("the new code did not answer");
    redeploy.push(performance.now() - start);
  }

  const result = {
    scenario: "one-file redeploy of a micro with ~70 npm packages, until the new code answers",
    samples,
    redeployMs: { p50: percentile(redeploy, 0.5), p99: percentile(redeploy, 0.99) },
    baselineNpmCiMs: { p50: percentile(baseline, 0.5), p99: percentile(baseline, 0.99) },
    ratio: percentile(redeploy, 0.5) / percentile(baseline, 0.5),
    targetMs: 1000,
  };
  console.log(
    `redeploy          p50 ${result.redeployMs.p50.toFixed(0)} ms  p99 ${result.redeployMs.p99.toFixed(0)} ms`,
  );
  console.log(
    `baseline (npm ci) p50 ${result.baselineNpmCiMs.p50.toFixed(0)} ms  p99 ${result.baselineNpmCiMs.p99.toFixed(0)} ms`,
  );
  console.log(
    `ratio redeploy / npm ci: ${result.ratio.toFixed(2)}  (target: redeploy p50 under ${result.targetMs} ms)`,
  );
  await mkdir(join(ROOT, "bench", "results"), { recursive: true });
  await writeFile(join(ROOT, "bench", "results", "redeploy.json"), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  server.kill("SIGTERM");
  await new Promise((done) => server.once("exit", done));
  await rm(work, { recursive: true, force: true });
}
