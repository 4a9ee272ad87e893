/**
 * Redeploy benchmark, two scenarios on a micro with ~70 npm packages
 * (examples/express-hello: express and its dependencies), each from `micros
 * deploy` until the new code answers through the gateway:
 * - a one-file change (dependencies unchanged: no build runs an install);
 * - a change to package.json, so the build sandbox installs afresh.
 * Baseline, measured in the same run on the same machine: `npm ci` of the same
 * app in a fresh folder on the host, bare, with npm's cache warm, which is what
 * every deploy would cost without incremental uploads and install reuse, and
 * what a fresh install costs without the sandbox.
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
    // A fresh connection each time: an install outlasts the server's keep-alive timeout.
    request({ host: "127.0.0.1", port, path: "/", headers: { host }, agent: false }, (res) => {
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
  const pkg = await readFile(join(app, "package.json"), "utf8");
  const baseline: number[] = [];
  const redeploy: number[] = [];
  const freshInstall: number[] = [];
  const deploy = async (marker: string, samplesOf: number[]) => {
    const start = performance.now();
    execFileSync(process.execPath, [BIN, "deploy"], { cwd: app, env: server.env, stdio: "ignore" });
    if (!(await body(server.port, host)).startsWith(marker)) throw new Error("the new code did not answer");
    samplesOf.push(performance.now() - start);
  };
  for (let i = 0; i < samples; i++) {
    // Baseline: a full install of the same dependencies, bare on the host, with npm's cache warm (as the
    // owner's cache is for the build).
    const fresh = join(server.work, `baseline-${i}`);
    await mkdir(fresh);
    for (const file of ["package.json", "package-lock.json"]) await cp(join(app, file), join(fresh, file));
    const start = performance.now();
    execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: fresh,
      stdio: "ignore",
    });
    baseline.push(performance.now() - start);
    await rm(fresh, { recursive: true, force: true });

    await writeFile(join(app, "index.js"), source.replace("Hello from", `Hello (${i}) from`));
    await deploy(`Hello (${i})`, redeploy);

    // A package.json no install was made for: the build installs afresh (the install cache cannot help).
    await writeFile(join(app, "package.json"), pkg.replace("{", `{\n  "description": "sample ${i}",`));
    await writeFile(join(app, "index.js"), source.replace("Hello from", `Hello [${i}] from`));
    await deploy(`Hello [${i}]`, freshInstall);
  }
  const result = {
    scenario: "one-file redeploy of a micro with ~70 npm packages, until the new code answers",
    samples,
    redeploy: stats(redeploy),
    freshInstall: stats(freshInstall),
    baselineNpmCi: stats(baseline),
    ratio: stats(redeploy).p50 / stats(baseline).p50,
    freshInstallRatio: stats(freshInstall).p50 / stats(baseline).p50,
    targetMs: 1000,
    targetFreshInstallRatio: 1.2,
  };
  console.log(`redeploy          p50 ${result.redeploy.p50} ms  p99 ${result.redeploy.p99} ms`);
  console.log(`fresh install     p50 ${result.freshInstall.p50} ms  p99 ${result.freshInstall.p99} ms`);
  console.log(`baseline (npm ci) p50 ${result.baselineNpmCi.p50} ms  p99 ${result.baselineNpmCi.p99} ms`);
  console.log(
    `ratio redeploy / npm ci: ${result.ratio.toFixed(2)}  (target: redeploy p50 under ${result.targetMs} ms)`,
  );
  console.log(
    `ratio fresh install in the build sandbox / bare npm ci: ${result.freshInstallRatio.toFixed(2)}  (target: ${result.targetFreshInstallRatio})`,
  );
  await writeResult("redeploy", result);
} finally {
  await server.close();
}
