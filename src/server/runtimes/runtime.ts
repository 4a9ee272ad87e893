/**
 * What the platform knows about a language runtime, on the host side: how to
 * find an app's entry, how to install its dependencies into a release, and how
 * to start its runner. The runner itself lives in `runtimes/<language>/` and
 * runs inside the instance.
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
  /** The entry file (relative to the app's root), or a MicrosError saying what is missing. */
  findEntry(appDir: string): Promise<string>;
  /** Installs the app's dependencies in place; returns what ran and its output. */
  install(appDir: string, context: InstallContext): Promise<InstallResult>;
  /**
   * The runner's command line, given where the instance sees the runner. It does not depend on the app: the
   * runner learns its app from the start message, so it can be started before anyone asks for one.
   */
  command(runtimeDir: string): { file: string; args: string[] };
}

export type InstallKind = "none" | "npm ci" | "npm install" | "pip install" | "reused" | "cached";

export interface InstallContext {
  cacheDir: string;
  timeoutMs: number;
  /** The tool's output as it comes. */
  onOutput?: (text: string) => void;
}

export interface InstallResult {
  kind: InstallKind;
  output: string;
}
