/**
 * An executor whose instances live in this process: each is an HTTP server on
 * a Unix socket in a temp dir, with a control channel that speaks the runner
 * protocol. The instance manager, the dispatcher and the gateway run against
 * it unchanged, without root or a sandbox, so their tests take seconds.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type RequestListener, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex, PassThrough } from "node:stream";
import { after } from "node:test";
import type { Executor, ExitStatus, InstanceProcess, LaunchSpec } from "../../src/server/instances/executor.js";
import { InstanceManager, type InstanceManagerOptions } from "../../src/server/instances/manager.js";
import type { LimitPolicy } from "../../src/server/limits.js";
import { LogSink } from "../../src/server/logs/log-sink.js";
import { QUIET } from "../../src/server/logs/operator-log.js";
import { RuntimeRegistry } from "../../src/server/runtimes/registry.js";
import type { Runtime } from "../../src/server/runtimes/runtime.js";
import type { LogLine, Logs } from "../../src/server/store/logs.js";
import type { Micro } from "../../src/server/store/micros.js";

/** How the next launched instances behave; tests change it between requests. */
export interface FakeApp {
  /** Time from the start message to `ready`. */
  loadMs: number;
  /** Sent on the control channel instead of `ready` (a raw line). */
  controlLine?: string;
  /** The process exits with this code instead of becoming ready. */
  crashWith?: number;
  handler: RequestListener;
}

export interface FakeInstance {
  id: string;
  stdout: PassThrough;
  /** Writes a line on the control channel, as an app with fd 3 could. */
  control(line: string): void;
  exit(code: number): void;
  readonly requests: number;
}

export class FakeExecutor implements Executor {
  readonly name = "fake";
  launches = 0;
  readonly instances = new Map<string, FakeInstance>();
  app: FakeApp = { loadMs: 0, handler: (_req, res) => res.end("hello") };

  constructor(private readonly dir: string) {}

  async launch(spec: LaunchSpec): Promise<InstanceProcess> {
    this.launches++;
    const app = this.app;
    const socketPath = join(this.dir, `${spec.instanceId}.sock`);
    const toRunner = new PassThrough();
    const fromRunner = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let requests = 0;
    let server: Server | undefined;
    let exit: (status: ExitStatus) => void = () => {};
    const exited = new Promise<ExitStatus>((resolve) => {
      exit = (status) => {
        server?.closeAllConnections();
        server?.close();
        fromRunner.end();
        stdout.end();
        stderr.end();
        resolve(status);
      };
    });
    let gone = false;
    const end = (status: ExitStatus) => {
      if (gone) return;
      gone = true;
      this.instances.delete(spec.instanceId);
      exit(status);
    };
    toRunner.once("data", () => {
      setTimeout(() => {
        if (gone) return;
        if (app.crashWith !== undefined) return end({ code: app.crashWith, signal: null });
        if (app.controlLine !== undefined) return void fromRunner.write(`${app.controlLine}\n`);
        server = createServer((req, res) => {
          requests++;
          res.once("close", () => requests--);
          this.app.handler(req, res);
        });
        server.listen(socketPath, () => fromRunner.write('{"type":"ready"}\n'));
      }, app.loadMs);
    });
    this.instances.set(spec.instanceId, {
      id: spec.instanceId,
      stdout,
      control: (line) => fromRunner.write(`${line}\n`),
      exit: (code) => end({ code, signal: null }),
      get requests() {
        return requests;
      },
    });
    return {
      inside: { appDir: spec.appDir, socketPath },
      preparedAhead: false,
      launchTimes: { sandboxMs: 0, codeMs: 0 },
      socketPath,
      stdout,
      stderr,
      control: Duplex.from({ readable: fromRunner, writable: toRunner }),
      exited,
      terminate: () => {
        // Like the runner: finish in-flight requests, then leave.
        if (!server) return end({ code: 0, signal: null });
        server.close(() => end({ code: 0, signal: null }));
        server.closeIdleConnections();
      },
      kill: () => end({ code: null, signal: "SIGKILL" }),
    };
  }

  prewarm(): void {}
  async cleanup(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Log lines as the store would keep them, in memory. */
export function memoryLogs(): { sink: LogSink; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const store = {
    append: async (batch: Omit<LogLine, "id">[]) => {
      const stored = batch.map((line) => ({ ...line, id: lines.length + 1 }) as LogLine);
      lines.push(...stored);
      return stored;
    },
    async trim() {},
  } as unknown as Logs;
  return { sink: new LogSink(store), lines };
}

/** A micro's limits, as the gateway and the manager ask for them. */
export const FAKE_LIMITS = {
  effective: () => ({ memoryBytes: 64 * 1024 * 1024, timeoutMs: 2_000, requestBodyBytes: 1024 * 1024 }),
  hint: () => "raise the limit",
} as unknown as LimitPolicy;

export const MICRO: Micro = {
  id: "m1",
  projectId: "p1",
  name: "fake",
  subdomain: "fake",
  runtime: "fake",
  currentReleaseId: "r1",
  httpAuth: false,
  visor: false,
  limits: { memoryBytes: null, timeoutMs: null, requestBodyBytes: null },
  createdAt: 0,
};

/** A manager over a fake executor, with the given settings over short test defaults; cleaned up after the file. */
export async function useFakeInstances(settings: Partial<InstanceManagerOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), "micros-fake-"));
  const executor = new FakeExecutor(dir);
  const logs = memoryLogs();
  const runtime = {
    id: "fake",
    runnerDir: dir,
    findEntry: async () => "index.js",
    command: () => ({ file: "fake", args: [] }),
  } as unknown as Runtime;
  const manager = new InstanceManager({
    executor,
    // A second runtime, for a micro whose runtime changes.
    runtimes: new RuntimeRegistry([runtime, { ...runtime, id: "fake2" } as Runtime]),
    logs: logs.sink,
    operator: QUIET,
    releaseDir: async () => dir,
    userEnv: async () => ({}),
    projectKey: async () => "key",
    idleTimeoutMs: 60_000,
    startTimeoutMs: 5_000,
    stopGraceMs: 1_000,
    drainTimeoutMs: 60_000,
    instanceConcurrency: 8,
    maxInstances: 4,
    limits: FAKE_LIMITS,
    ...settings,
  });
  after(async () => {
    await manager.close();
    await rm(dir, { recursive: true, force: true });
  });
  const platformLines = async () => {
    await logs.sink.flush();
    return logs.lines.filter((line) => line.source === "platform").map((line) => line.message);
  };
  return { executor, manager, logs, platformLines, dir };
}
