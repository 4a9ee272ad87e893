/**
 * Installs a release's dependencies in the build sandbox, with the packages'
 * own install scripts on (native addons compile with the host's compilers):
 * npm for Node, a virtual environment and pip for Python. The tools' output
 * goes to stdout and stderr as it comes; the platform shows it live.
 */
import { spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BuildResult, InstallJob } from "./protocol.mjs";
import { buildVendorBundle } from "./vendor-bundle.mjs";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Runs a tool with the builder's environment and output; resolves with its exit code. */
function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return runWatched(file, args, cwd, env).then((ran) => ran.code);
}

/** Bytes of a tool's output kept to look for a transient network failure in: npm prints its code last. */
const WATCHED_TAIL = 64 * 1024;

/** As `run`, and also resolves with the end of the tool's output, which still goes out as it comes. */
function runWatched(
  file: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; tail: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const forward = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      to.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-WATCHED_TAIL);
    };
    child.stdout.on("data", forward(process.stdout));
    child.stderr.on("data", forward(process.stderr));
    child.once("error", (err) => {
      process.stderr.write(`${err.message}\n`);
      resolve({ code: 127, tail });
    });
    child.once("close", (code) => resolve({ code: code ?? 1, tail }));
  });
}

/**
 * A moment's trouble between the server and the registry (a failed name lookup, a refused, reset or timed-out
 * connection) should not fail a deploy, and npm's own retries do not cover a failed lookup at all. Those codes, and
 * only those, run the install again, with what the earlier attempt fetched already in the cache.
 */
const TRANSIENT_NPM_ERROR = /^npm error code (EAI_AGAIN|ECONNRESET|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|EPIPE)$/m;
const NPM_ATTEMPTS = 3;

function failed(what: string, code: number): BuildResult {
  return {
    ok: false,
    code: "ERR_DEPENDENCY_INSTALL_FAILED",
    message: `Installing dependencies failed: ${what} failed (exit code ${code}). Its output is above.`,
  };
}

/** npm from the Node distribution the builder runs on. */
const NPM_CLI = join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");

async function installNode(job: InstallJob): Promise<BuildResult> {
  if (!(await exists(join(job.app, "package.json")))) return { ok: true, installed: "none" };
  const locked =
    (await exists(join(job.app, "package-lock.json"))) || (await exists(join(job.app, "npm-shrinkwrap.json")));
  const kind = locked ? "npm ci" : "npm install";
  // Native addons build against the headers of the Node that will run them, never downloaded ones.
  const prefix = dirname(dirname(process.execPath));
  const nodedir = (await exists(join(prefix, "include", "node", "node.h"))) ? { npm_config_nodedir: prefix } : {};
  const env = {
    ...process.env,
    ...nodedir,
    npm_config_cache: join(job.cache, "npm"),
    npm_config_update_notifier: "false",
    // npm waits 5 minutes on a registry request that stalls before it retries; a build has one deadline for
    // everything, so a stalled connection gives up after a minute and npm's own retries try again.
    npm_config_fetch_timeout: "60000",
    NODE_ENV: "production",
  };
  const args = [NPM_CLI, locked ? "ci" : "install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"];
  let ran = await runWatched(process.execPath, args, job.app, env);
  for (let attempt = 2; ran.code !== 0 && attempt <= NPM_ATTEMPTS; attempt++) {
    const transient = TRANSIENT_NPM_ERROR.exec(ran.tail);
    if (!transient) break;
    process.stderr.write(
      `${kind} met ${transient[1]} reaching the registry; trying again (${attempt} of ${NPM_ATTEMPTS}).\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt - 1)));
    ran = await runWatched(process.execPath, args, job.app, env);
  }
  if (ran.code !== 0) return failed(kind, ran.code);
  if (await exists(join(job.app, "node_modules"))) await buildVendorBundle(job.app);
  return { ok: true, installed: kind };
}

async function installPython(job: InstallJob): Promise<BuildResult> {
  const python = job.python ?? "python3";
  const requirements = await exists(join(job.app, "requirements.txt"));
  const venv = join(job.app, ".venv");
  const env = { ...process.env, PIP_CACHE_DIR: join(job.cache, "pip"), PIP_DISABLE_PIP_VERSION_CHECK: "1" };
  // pip itself is only needed when there is something to install.
  const created = await run(
    python,
    ["-m", "venv", "--system-site-packages", ...(requirements ? [] : ["--without-pip"]), venv],
    job.app,
    env,
  );
  if (created !== 0) return failed("creating the virtual environment", created);
  if (!requirements) return { ok: true, installed: "none" };
  const code = await run(
    join(venv, "bin", "python"),
    ["-m", "pip", "install", "--no-input", "-r", "requirements.txt"],
    job.app,
    env,
  );
  return code === 0 ? { ok: true, installed: "pip install" } : failed("pip install", code);
}

export function install(job: InstallJob): Promise<BuildResult> {
  return job.language === "node" ? installNode(job) : installPython(job);
}
