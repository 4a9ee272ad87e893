import { readFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { runCommand } from "../util/run-command.js";
import { InstallCache } from "./install-cache.js";
import { buildVendorBundle } from "./node-vendor.js";
import type { InstallContext, InstallResult, Runtime } from "./runtime.js";
import { toolEnv } from "./tool-env.js";

/** Packages the runner imports; kept to what it cannot do without. */
export const NODE_RUNNER_DEPENDENCIES = ["@hono/node-server"];

/** The compiled runner as shipped; the server runs a copy of it from its data dir (see RuntimeRegistry.install). */
export const NODE_RUNNER_DIR = fileURLToPath(new URL("../../../runtimes/node/", import.meta.url));
const NPM_CLI = join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");

async function readPackageJson(appDir: string): Promise<Record<string, unknown> | undefined> {
  const file = join(appDir, "package.json");
  if (!(await exists(file))) return undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (err) {
    throw new MicrosError("ERR_MISSING_ENTRY", `package.json is not valid JSON: ${(err as Error).message}`);
  }
  throw new MicrosError("ERR_MISSING_ENTRY", "package.json must hold a JSON object.");
}

/** What decides an `npm ci`: package.json and the lock file, together. */
async function readLockFile(appDir: string): Promise<string> {
  const lock = join(appDir, "package-lock.json");
  const lockText = await readFile((await exists(lock)) ? lock : join(appDir, "npm-shrinkwrap.json"), "utf8");
  return `${await readFile(join(appDir, "package.json"), "utf8")}\0${lockText}`;
}

/** Node's own npm when it sits beside the node binary (as in every Node distribution), else `npm` from PATH. */
async function npmCommand(): Promise<{ file: string; prefix: string[] }> {
  if (await exists(NPM_CLI)) return { file: process.execPath, prefix: [NPM_CLI] };
  return { file: "npm", prefix: [] };
}

/** Variables npm needs to reach a registry the way the operator configured it. */
function npmEnv(cacheDir: string): NodeJS.ProcessEnv {
  return toolEnv(
    { npm_config_cache: cacheDir, npm_config_update_notifier: "false", NODE_ENV: "production" },
    /^npm_config_/i,
  );
}

export function nodeRuntime(runnerDir = NODE_RUNNER_DIR): Runtime {
  return {
    id: `nodejs${process.versions.node.split(".")[0]}`,
    language: "node",
    dependencyFiles: ["package.json", "package-lock.json", "npm-shrinkwrap.json"],
    installedDir: "node_modules",
    runnerDir,

    async findEntry(appDir) {
      const pkg = await readPackageJson(appDir);
      const main = typeof pkg?.main === "string" ? normalize(pkg.main) : undefined;
      if (main !== undefined) {
        if (main.startsWith("..") || main.startsWith("/")) {
          throw new MicrosError("ERR_MISSING_ENTRY", `"main" in package.json (${pkg?.main}) points outside the app.`);
        }
        for (const candidate of [main, `${main}.js`, join(main, "index.js")]) {
          if (await exists(join(appDir, candidate))) return candidate;
        }
        throw new MicrosError(
          "ERR_MISSING_ENTRY",
          `"main" in package.json names ${pkg?.main}, which is not in the upload. Fix "main" or add the file.`,
        );
      }
      if (await exists(join(appDir, "index.js"))) return "index.js";
      throw new MicrosError(
        "ERR_MISSING_ENTRY",
        'No entry file: add index.js at the root of the micro (or set "main" in package.json) that ends with `module.exports = app`.',
      );
    },

    async install(appDir: string, context: InstallContext): Promise<InstallResult> {
      if (!(await readPackageJson(appDir))) return { kind: "none", output: "" };
      const locked =
        (await exists(join(appDir, "package-lock.json"))) || (await exists(join(appDir, "npm-shrinkwrap.json")));
      const kind = locked ? "npm ci" : "npm install";
      // Same package.json and lock file (and Node major), same install: take it from the cache when another release made it.
      const cache = new InstallCache(join(context.cacheDir, "installs"));
      const lockFile = locked ? await readLockFile(appDir) : undefined;
      const key =
        lockFile === undefined ? undefined : cache.key(lockFile, `node${process.versions.node.split(".")[0]}`);
      if (key && (await cache.restore(key, join(appDir, "node_modules")))) return { kind: "cached", output: "" };
      const npm = await npmCommand();
      const args = [
        ...npm.prefix,
        locked ? "ci" : "install",
        "--omit=dev",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        // Installs run on the host, outside any sandbox: no package's code may run here.
        "--ignore-scripts",
      ];
      const result = await runCommand(npm.file, args, {
        cwd: appDir,
        env: npmEnv(context.cacheDir),
        timeoutMs: context.timeoutMs,
        ...(context.onOutput ? { onOutput: context.onOutput } : {}),
      });
      if (result.exitCode !== 0) {
        const why = result.timedOut
          ? `${kind} took longer than ${Math.round(context.timeoutMs / 1000)} s and was stopped`
          : `${kind} failed (exit code ${result.exitCode})`;
        throw new MicrosError(
          "ERR_DEPENDENCY_INSTALL_FAILED",
          `Installing dependencies failed: ${why}. Its output is below.`,
          {
            details: { output: result.output },
          },
        );
      }
      if (!(await exists(join(appDir, "node_modules")))) return { kind, output: result.output };
      await buildVendorBundle(appDir);
      if (key) await cache.store(key, join(appDir, "node_modules"));
      return { kind, output: result.output };
    },

    command: (runtimeDir) => ({ file: process.execPath, args: [join(runtimeDir, "runner.mjs")] }),
  };
}
