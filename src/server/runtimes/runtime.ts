import { posix } from "node:path";

/**
 * What the platform knows about a language runtime, on the host side: how to
 * find an app's entry, which files decide its dependencies, and how to start
 * its runner. Installing runs in the build sandbox (`runtimes/build/`); the
 * runner itself lives in `runtimes/<language>/` and runs inside the instance.
 */
export interface Runtime {
  /** The id users see, e.g. `nodejs20`. */
  readonly id: string;
  readonly language: "node" | "python";
  /** Files whose content decides what gets installed: when unchanged, a release reuses the previous install. */
  readonly dependencyFiles: readonly string[];
  /** The folder of the release that installs go to. */
  readonly installedDir: string;
  /** Host folder holding the runner. */
  readonly runnerDir: string;
  /** The interpreter installs and instances run on (Python), or Node's own binary. */
  readonly interpreter: string;
  /** The entry file (relative to the app's root), or a MicrosError saying what is missing. */
  findEntry(appDir: string): Promise<string>;
  /**
   * What exactly decides the install, when the same text always gives the same install (a lock file), so a
   * finished install can be reused for it; undefined when it may differ from one install to the next.
   */
  installKey(appDir: string): Promise<string | undefined>;
  /**
   * Folders of the app that its dependency files install from (`"dep": "file:./dep"`, a `./pkg` line in
   * requirements.txt): their files decide the install as much as the dependency files do.
   */
  localPackages(appDir: string): Promise<string[]>;
  /**
   * The runner's command line, given where the instance sees the runner. It does not depend on the app: the
   * runner learns its app from the start message, so it can be started before anyone asks for one.
   */
  command(runtimeDir: string): { file: string; args: string[] };
}

export type InstallKind = "none" | "npm ci" | "npm install" | "pip install" | "reused" | "cached";

/** Paths as a dependency file writes them (`./dep`, `dep/`), as folders of the app; those leading out are left out. */
export function insideFolders(paths: string[]): string[] {
  return paths
    .map((path) => posix.normalize(path.replace(/^\.\//, "")).replace(/\/+$/, ""))
    .filter((path) => path !== "." && path !== ".." && !path.startsWith("../") && !path.startsWith("/"));
}
