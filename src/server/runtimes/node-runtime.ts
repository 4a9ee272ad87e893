import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { insideFolders, type Runtime } from "./runtime.js";

/** Packages the runner imports; kept to what it cannot do without. */
export const NODE_RUNNER_DEPENDENCIES = ["@hono/node-server"];

/** The compiled runner as shipped; the server runs a copy of it from its data dir (see RuntimeRegistry.install). */
export const NODE_RUNNER_DIR = fileURLToPath(new URL("../../../runtimes/node/", import.meta.url));

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

export function nodeRuntime(runnerDir = NODE_RUNNER_DIR): Runtime {
  return {
    id: `nodejs${process.versions.node.split(".")[0]}`,
    language: "node",
    dependencyFiles: ["package.json", "package-lock.json", "npm-shrinkwrap.json"],
    installedDir: "node_modules",
    runnerDir,
    interpreter: process.execPath,

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

    async installKey(appDir) {
      const locked =
        (await exists(join(appDir, "package-lock.json"))) || (await exists(join(appDir, "npm-shrinkwrap.json")));
      // Same package.json and lock file on the same Node major: the same install.
      return locked ? `node${process.versions.node.split(".")[0]}\0${await readLockFile(appDir)}` : undefined;
    },

    async localPackages(appDir) {
      const pkg = await readPackageJson(appDir);
      const specs = [pkg?.dependencies, pkg?.optionalDependencies].flatMap((deps) =>
        deps && typeof deps === "object" ? Object.values(deps as Record<string, unknown>) : [],
      );
      return insideFolders(
        specs.flatMap((spec) => (typeof spec === "string" && /^(file|link):/.test(spec) ? [spec.slice(5)] : [])),
      );
    },

    command: (runtimeDir) => ({ file: process.execPath, args: [join(runtimeDir, "runner.mjs")] }),
  };
}
