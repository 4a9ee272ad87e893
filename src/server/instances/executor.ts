import type { Duplex, Readable } from "node:stream";

/**
 * The seam between the instance manager and wherever instances run. The
 * manager says what to run; an executor decides how (a plain child process, a
 * sandbox, another machine) and hands back a running process with its
 * channels. Nothing above this interface knows which executor is in use.
 */
export interface LaunchSpec {
  instanceId: string;
  microId: string;
  /** The instance's memory limit. */
  memoryBytes: number;
  /** The release's code and dependencies on the host. */
  appDir: string;
  runner: RunnerSpec;
}

/** A runtime's runner: the same for every micro of the runtime, so it can be started before its app is known. */
export interface RunnerSpec {
  runtime: string;
  /** Host folder of the runner. */
  runtimeDir: string;
  /** The runner's command line, given where the instance sees the runner's folder. */
  command(runtimeDir: string): { file: string; args: string[] };
}

export interface InstanceProcess {
  /** Paths as seen from inside the instance, for the runner's start message. */
  readonly inside: { appDir: string; socketPath: string };
  /** Whether the process was started ahead of need and only handed its app now. */
  readonly preparedAhead: boolean;
  /** Where the launch's time went: making the sandbox and starting its runner, then handing it the release's code. */
  readonly launchTimes: LaunchTimes;
  /** Where the host reaches the instance's HTTP socket. */
  readonly socketPath: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The control channel (fd 3): newline-delimited JSON both ways. */
  readonly control: Duplex;
  /** Settles once every process of the instance is gone. */
  readonly exited: Promise<ExitStatus>;
  /** Asks the instance to finish (SIGTERM). */
  terminate(): void;
  /** Ends the instance at once, with every process in it. Idempotent. */
  kill(): void;
}

export interface LaunchTimes {
  /** The sandbox made and its runner started (near zero when one was prepared ahead). */
  sandboxMs: number;
  /** The release's code put in place for the runner. */
  codeMs: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** What the executor knows of why, in words (for example: it ran out of memory). */
  reason?: string;
}

export interface Executor {
  readonly name: string;
  launch(spec: LaunchSpec): Promise<InstanceProcess>;
  /** Keeps instances of these runners started ahead of need, when the executor can, so launches skip the start-up. */
  prewarm(runners: readonly RunnerSpec[]): void;
  /** Per runtime, the instances kept started ahead of need: ready, or still being prepared (none if it keeps none). */
  warmPool?(): { runtime: string; ready: number; preparing: number }[];
  /** Removes whatever an earlier, crashed server left behind. */
  cleanup(): Promise<void>;
  /** Releases what the executor holds, once every instance has stopped. */
  close(): Promise<void>;
}
