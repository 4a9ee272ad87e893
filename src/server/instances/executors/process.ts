import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex, Readable } from "node:stream";
import type { Executor, InstanceProcess, LaunchSpec } from "../executor.js";
import { waitForExit } from "./wait-for-exit.js";

/**
 * Runs each instance as a plain child process in its own process group with a
 * clean environment. It isolates nothing: for development, and as the
 * reference the sandboxed executor is measured against.
 */
export class ProcessExecutor implements Executor {
  readonly name = "process";

  constructor(private readonly runDir: string) {}

  async launch(spec: LaunchSpec): Promise<InstanceProcess> {
    const began = performance.now();
    const dir = join(this.runDir, spec.instanceId);
    await mkdir(dir, { recursive: true });
    const socketPath = join(dir, "http.sock");
    const { file, args } = spec.runner.command(spec.runner.runtimeDir);
    const child = spawn(file, args, {
      cwd: spec.appDir,
      // The runner receives the app's environment in its start message; the
      // process starts with only what any program needs.
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: dir, TMPDIR: dir, NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    // When the runner ends, so does the instance: nothing it forked may linger.
    const exited = waitForExit(child).then(async (status) => {
      killGroup("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      return status;
    });
    return {
      inside: { appDir: spec.appDir, socketPath },
      preparedAhead: false,
      // The code is used where it lies: all of the launch is the process's start.
      launchTimes: { sandboxMs: performance.now() - began, codeMs: 0 },
      socketPath,
      stdout: child.stdout as Readable,
      stderr: child.stderr as Readable,
      control: child.stdio[3] as Duplex,
      exited,
      terminate: () => killGroup("SIGTERM"),
      kill: () => killGroup("SIGKILL"),
    };
  }

  /** A plain process starts fast enough for development; nothing is kept ahead. */
  prewarm(): void {}

  async close(): Promise<void> {
    await rm(this.runDir, { recursive: true, force: true });
  }

  async cleanup(): Promise<void> {
    await rm(this.runDir, { recursive: true, force: true });
    await mkdir(this.runDir, { recursive: true });
  }
}
