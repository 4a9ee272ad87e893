import { chmod, cp, mkdir, rm } from "node:fs/promises";
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

const LANGUAGE_NAMES: Record<string, Runtime["language"] | undefined> = {
  node: "node",
  nodejs: "node",
  python: "python",
  python3: "python",
};

/** Runtime ids by version: `nodejs<major>` and `python3.<minor>`, the forms Deta used. */
const ID_FORMS = {
  node: /^nodejs([1-9]\d{0,2})$/,
  python: /^python(3)\.(0|[1-9]\d{0,2})$/,
} as const;

/** The oldest version of each language a micro may name, as Deta offered them. */
const OLDEST: Record<Runtime["language"], number[]> = { node: [12], python: [3, 7] };
const OLDEST_IDS: Record<Runtime["language"], string> = { node: "nodejs12", python: "python3.7" };

function version(id: string): { language: Runtime["language"]; numbers: number[] } | undefined {
  for (const language of ["node", "python"] as const) {
    const match = ID_FORMS[language].exec(id);
    if (match) return { language, numbers: match.slice(1).map(Number) };
  }
  return undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** The runtimes this server offers, by id. The first of each language is its default. */
export class RuntimeRegistry {
  private readonly runtimes: Runtime[];

  constructor(runtimes: Runtime[] = [nodeRuntime()]) {
    this.runtimes = runtimes;
  }

  /**
   * Copies each runner into `<data-dir>/runtimes/` (the server's own) and uses that
   * copy: a sandbox is shown the runner and its one dependency, and nothing
   * else of wherever Micros is installed. Copied afresh on each start, so
   * upgrades apply.
   */
  static async install(dataDir: string, options: { python: string }): Promise<RuntimeRegistry> {
    const root = join(dataDir, "runtimes");
    await mkdir(root, { recursive: true, mode: 0o700 });
    await chmod(root, 0o700);
    const runtimes = [await installNode(join(root, "node"))];
    // Python is offered when its interpreter runs here; a server without it still serves Node micros.
    const pythonId = await pythonRuntimeId(options.python);
    if (pythonId) {
      const target = join(root, "python");
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
   * Finds a runtime by id: this server's own (`nodejs20`, `python3.11`), or an earlier version of the same language
   * that a micro may have been created under (before an upgrade, or on Deta): back to `nodejs12` and `python3.7`,
   * the oldest Deta offered. Those run on this server's version. Anything else (a newer version, `nodejs0`,
   * `python2`, another language) is refused with the list of what this server offers.
   */
  get(id: string): Runtime {
    const exact = this.runtimes.find((runtime) => runtime.id === id);
    if (exact) return exact;
    const wanted = version(id);
    const same = wanted && this.runtimes.find((runtime) => runtime.language === wanted.language);
    const current = same && version(same.id);
    if (
      wanted &&
      same &&
      current &&
      compare(wanted.numbers, OLDEST[wanted.language]) >= 0 &&
      compare(wanted.numbers, current.numbers) < 0
    ) {
      return same;
    }
    const ids = this.ids();
    const oldest = this.runtimes.map((runtime) => OLDEST_IDS[runtime.language]);
    throw new MicrosError(
      "ERR_VALIDATION",
      `Unknown runtime ${id}. This server offers ${ids.join(" and ")}; micros of an earlier version, back to ${oldest.join(" and ")}, run on these.`,
      { details: { runtime: id, offered: ids } },
    );
  }

  /** Accepts a language name (`node`, `nodejs`, `python`, `python3`) or an id, and returns the runtime's id. */
  resolve(requested: string): string {
    const language = LANGUAGE_NAMES[requested];
    const runtime = language && this.runtimes.find((candidate) => candidate.language === language);
    return runtime ? runtime.id : this.get(requested).id;
  }
}
