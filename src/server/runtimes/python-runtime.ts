import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { runCommand } from "../util/run-command.js";
import type { InstallResult, Runtime } from "./runtime.js";
import { toolEnv } from "./tool-env.js";

/** The runner as shipped (plain Python, no build step); the server runs a copy from its data dir. */
export const PYTHON_RUNNER_DIR = fileURLToPath(new URL("../../../../runtimes/python/", import.meta.url));

const ENTRY = "main.py";
/** Each release gets its own environment here; it sees the interpreter's system packages too. */
const VENV = ".venv";

/** The interpreter's version as a runtime id (`python3.11`), or undefined when it cannot be run. */
export async function pythonRuntimeId(interpreter: string): Promise<string | undefined> {
  const probe = await runCommand(
    interpreter,
    ["-c", "import sys, venv; print(f'python{sys.version_info[0]}.{sys.version_info[1]}')"],
    { cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: 10_000 },
  );
  return probe.exitCode === 0 ? probe.output.trim() : undefined;
}

function installFailed(
  what: string,
  result: { exitCode: number | null; timedOut: boolean; output: string },
  timeoutMs: number,
) {
  const why = result.timedOut
    ? `${what} took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`
    : `${what} failed (exit code ${result.exitCode})`;
  return new MicrosError(
    "ERR_DEPENDENCY_INSTALL_FAILED",
    `Installing dependencies failed: ${why}. Its output is below.`,
    {
      details: { output: result.output },
    },
  );
}

/**
 * Python micros: `main.py` with a module-level `app`, ASGI or WSGI. Every
 * release gets a virtual environment that can see the interpreter's own
 * packages, so requirements the system already satisfies need no index (and
 * install offline), while the rest come from the index as usual.
 */
export function pythonRuntime(id: string, interpreter: string, runnerDir = PYTHON_RUNNER_DIR): Runtime {
  return {
    id,
    language: "python",
    dependencyFiles: ["requirements.txt"],
    installedDir: VENV,
    runnerDir,

    async findEntry(appDir) {
      if (await exists(join(appDir, ENTRY))) return ENTRY;
      throw new MicrosError(
        "ERR_MISSING_ENTRY",
        "No entry file: add main.py at the root of the micro, with a module-level `app` (FastAPI, Starlette, Flask, ...).",
      );
    },

    async install(appDir, context): Promise<InstallResult> {
      const requirements = await exists(join(appDir, "requirements.txt"));
      const venv = join(appDir, VENV);
      const env = toolEnv({ PIP_CACHE_DIR: context.cacheDir, PIP_DISABLE_PIP_VERSION_CHECK: "1" }, /^PIP_/);
      // pip itself is only needed when there is something to install.
      const created = await runCommand(
        interpreter,
        ["-m", "venv", "--system-site-packages", ...(requirements ? [] : ["--without-pip"]), venv],
        { cwd: appDir, env, timeoutMs: context.timeoutMs },
      );
      if (created.exitCode !== 0) throw installFailed("creating the virtual environment", created, context.timeoutMs);
      if (!requirements) return { kind: "none", output: "" };
      const installed = await runCommand(
        join(venv, "bin", "python"),
        ["-m", "pip", "install", "--no-input", "-r", "requirements.txt"],
        { cwd: appDir, env, timeoutMs: context.timeoutMs, ...(context.onOutput ? { onOutput: context.onOutput } : {}) },
      );
      if (installed.exitCode !== 0) throw installFailed("pip install", installed, context.timeoutMs);
      return { kind: "pip install", output: installed.output };
    },

    // The interpreter the release's virtual environment was made from; the runner adds the environment's
    // packages once it knows its app.
    command: (runtimeDir) => ({
      file: interpreter,
      // Unbuffered, so print() reaches the logs at once; no .pyc files, since /app is read-only.
      args: ["-u", "-B", join(runtimeDir, "runner.py")],
    }),
  };
}
