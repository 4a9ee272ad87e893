import { cp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { MicrosError } from "../../shared/errors.js";
import { NODE_RUNNER_DEPENDENCIES, NODE_RUNNER_DIR, nodeRuntime } from "./node-runtime.js";
import { PYTHON_RUNNER_DIR, pythonRuntime, pythonRuntimeId } from "./python-runtime.js";
import type { Runtime } from "./runtime.js";

const require = createRequire(import.meta.url);

/** The Node runner and its one dependency (the bridge for fetch-style apps): the sandbox sees nothing else. */
async function installNode(target: string): Promise<Runtime> {
  await rm(target, { recursive: true, force: true });
  await cp(NODE_RUNNER_DIR, target, { recursive: true, filter: (source) => !source.endsWith(".map") });
  for (const name of NODE_RUNNER_DEPENDENCIES) {
    // The package's folder: its `exports` hide package.json, so go from its entry up to node_modules/<name>.
    const entry = require.resolve(name);
    const marker = join("node_modules", name);
    const source = entry.slice(0, entry.lastIndexOf(marker) + marker.length);
    await cp(source, join(target, "node_modules", name), { recursive: true });
  }
  return nodeRuntime(target);
}

/** The runtimes this server offers, by id. The first of each language is its default. */
export class RuntimeRegistry {
  private readonly runtimes: Runtime[];

  constructor(runtimes: Runtime[] = [nodeRuntime()]) {
    this.runtimes = runtimes;
  }

  /**
   * Copies each runner into `<data-dir>/runtimes/` and uses that copy: a
   * sandboxed instance can reach the data dir but not necessarily wherever
   * Micros itself is installed. Copied afresh on each start, so upgrades apply.
   */
  static async install(dataDir: string, options: { python: string }): Promise<RuntimeRegistry> {
    const runtimes = [await installNode(join(dataDir, "runtimes", "node"))];
    // Python is offered when its interpreter runs here; a server without it still serves Node micros.
    const pythonId = await pythonRuntimeId(options.python);
    if (pythonId) {
      const target = join(dataDir, "runtimes", "python");
      await rm(target, { recursive: true, force: true });
      await cp(PYTHON_RUNNER_DIR, target, { recursive: true });
      runtimes.push(pythonRuntime(pythonId, options.python, target));
    }
    return new RuntimeRegistry(runtimes);
  }

  list(): readonly Runtime[] {
    return this.runtimes;
  }

  ids(): string[] {
    return this.runtimes.map((runtime) => runtime.id);
  }

  /**
   * Finds a runtime by id. A micro created under another version of the same
   * language (`nodejs18` on a server that now runs Node 20) keeps working on
   * the version this server has.
   */
  get(id: string): Runtime {
    const exact = this.runtimes.find((runtime) => runtime.id === id);
    if (exact) return exact;
    const family = this.runtimes.find((runtime) => id.startsWith(runtime.id.replace(/[\d.]+$/, "")));
    if (family) return family;
    throw new MicrosError("ERR_VALIDATION", `Unknown runtime ${id}. This server offers: ${this.ids().join(", ")}.`);
  }

  /** Accepts a language name (`node`, `nodejs`) or a full id, and returns the runtime's id. */
  resolve(requested: string): string {
    const wanted = requested === "node" ? "nodejs" : requested;
    return this.get(wanted).id;
  }
}
