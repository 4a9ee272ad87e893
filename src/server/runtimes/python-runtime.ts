import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MicrosError } from "../../shared/errors.js";
import { exists } from "../../shared/exists.js";
import { runCommand } from "../util/run-command.js";
import { insideFolders, type Runtime } from "./runtime.js";

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
    interpreter,

    async findEntry(appDir) {
      if (await exists(join(appDir, ENTRY))) return ENTRY;
      throw new MicrosError(
        "ERR_MISSING_ENTRY",
        "No entry file: add main.py at the root of the micro, with a module-level `app` (FastAPI, Starlette, Flask, ...).",
      );
    },

    // pip resolves requirements anew each time: there is no install to reuse across releases.
    installKey: async () => undefined,

    async localPackages(appDir) {
      const text = await readFile(join(appDir, "requirements.txt"), "utf8").catch(() => "");
      // `./pkg`, `-e ./pkg`, `name @ file:./pkg`: a requirement pip installs from a folder of the app.
      const paths = text.split("\n").flatMap((line) => {
        const match = /(?:^|\s|file:)(\.{1,2}\/[^\s#;]*)/.exec(line.replace(/#.*/, ""));
        return match?.[1] ? [match[1]] : [];
      });
      return insideFolders(paths);
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
