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
import { execFileSync } from "node:child_process";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { ROOT, startServer, stats, writeResult } from "./lib.js";

const samples = Number(process.argv[process.argv.indexOf("--samples") + 1]) || 10;
const BIN = join(ROOT, "bin", "micros.js");

function body(port: number, host: string): Promise<string> {
  return new Promise((done, fail) => {
    request({ host: "127.0.0.1", port, path: "/", headers: { host } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk;
      });
      res.on("end", () => done(text));
    })
      .on("error", fail)
      .end();
  });
}

const server = await startServer();
try {
  const app = await server.deploy("examples/express-hello", "bench-app");
  const host = `bench-app.localhost:${server.port}`;
  const source = await readFile(join(app, "index.js"), "utf8");
  const baseline: number[] = [];
  const redeploy: number[] = [];
  for (let i = 0; i < samples; i++) {
    // Baseline: a full install of the same dependencies, with npm's cache warm (as the platform's is).
    const fresh = join(server.work, `baseline-${i}`);
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
    execFileSync(process.execPath, [BIN, "deploy"], { cwd: app, env: server.env, stdio: "ignore" });
    if (!(await body(server.port, host)).startsWith(`Hello (${i})`)) throw new Error("the new code did not answer");
    redeploy.push(performance.now() - start);
  }
  const result = {
    scenario: "one-file redeploy of a micro with ~70 npm packages, until the new code answers",
    samples,
    redeploy: stats(redeploy),
    baselineNpmCi: stats(baseline),
    ratio: stats(redeploy).p50 / stats(baseline).p50,
    targetMs: 1000,
  };
  console.log(`redeploy          p50 ${result.redeploy.p50} ms  p99 ${result.redeploy.p99} ms`);
  console.log(`baseline (npm ci) p50 ${result.baselineNpmCi.p50} ms  p99 ${result.baselineNpmCi.p99} ms`);
  console.log(
    `ratio redeploy / npm ci: ${result.ratio.toFixed(2)}  (target: redeploy p50 under ${result.targetMs} ms)`,
  );
  await writeResult("redeploy", result);
} finally {
  await server.close();
}
