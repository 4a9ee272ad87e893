import { Agent } from "node:http";
import { createInterface } from "node:readline";
import type { RunnerMessage, StartMessage } from "../../../runtimes/node/protocol.mjs";
import { MicrosError } from "../../shared/errors.js";
import type { LogSink } from "../logs/log-sink.js";
import type { ExitStatus, InstanceProcess } from "./executor.js";

/** A launched process and the start message that tells its runner what to serve. */
export interface Launched {
  process: InstanceProcess;
  start: StartMessage;
}

export type InstanceState = "starting" | "ready" | "draining" | "stopped";

const STDERR_TAIL = 5;

function describeExit(status: ExitStatus): string {
  if (status.reason) return status.reason;
  return status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * One running copy of a release: its process, its readiness, the requests in
 * flight and the keep-alive pool the gateway uses to reach it.
 */
export class Instance {
  state: InstanceState = "starting";
  inFlight = 0;
  readonly startedAt = Date.now();
  readonly agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  readonly ready: Promise<void>;
  /** Why the instance ended, once it has. */
  endReason: string | undefined;
  private process: InstanceProcess | undefined;
  private readonly stderrTail: string[] = [];
  private stopping = false;
  private readonly ended: Promise<string>;
  private markEnded: (reason: string) => void = () => {};

  constructor(
    readonly id: string,
    readonly microId: string,
    readonly releaseId: string,
    private readonly logs: LogSink,
    launch: () => Promise<Launched>,
    private readonly timeouts: { startMs: number; stopGraceMs: number },
    private readonly onEnd: (instance: Instance) => void,
  ) {
    this.ended = new Promise((resolve) => {
      this.markEnded = resolve;
    });
    this.ready = this.boot(launch);
    // Waiters handle the failure; this keeps an unobserved rejection from crashing the daemon.
    this.ready.catch(() => {});
  }

  get socketPath(): string {
    if (!this.process) throw new Error("instance has no process yet");
    return this.process.socketPath;
  }

  private async boot(launch: () => Promise<Launched>): Promise<void> {
    const { process: proc, start } = await launch().catch((err: unknown) => {
      this.end(`could not be started: ${(err as Error).message}`);
      if (err instanceof MicrosError) throw err;
      throw new MicrosError("ERR_INTERNAL", `The platform could not start an instance: ${(err as Error).message}`, {
        cause: err,
      });
    });
    this.process = proc;
    this.pipeOutput(proc);
    const exited = proc.exited.then((status) => {
      this.end(`${this.stopping ? "stopped" : "ended unexpectedly"}: its process ${describeExit(status)}`);
      return status;
    });
    proc.control.on("error", () => {});
    proc.control.write(`${JSON.stringify(start)}\n`);

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      firstMessage(proc),
      exited.then((status) => ({ type: "exited" as const, status })),
      new Promise<{ type: "timeout" }>((resolve) => {
        timer = setTimeout(() => resolve({ type: "timeout" }), this.timeouts.startMs);
      }),
    ]);
    clearTimeout(timer);

    if (outcome.type === "ready") {
      if (this.state === "starting") this.state = "ready";
      const how = proc.preparedAhead ? " (in a sandbox prepared ahead)" : "";
      this.logs.platform(
        this.microId,
        `instance ${this.id} started in ${Date.now() - this.startedAt} ms${how}`,
        this.id,
      );
      return;
    }
    proc.kill();
    let error: MicrosError;
    if (outcome.type === "failed") {
      error = new MicrosError(outcome.code, outcome.message);
    } else if (outcome.type === "timeout") {
      error = new MicrosError(
        "ERR_APP_START_TIMEOUT",
        `The micro did not become ready within ${this.timeouts.startMs / 1000} s of starting. Check that loading index.js does not wait on something that never comes; see \`micros logs\`.`,
      );
    } else {
      const last = this.stderrTail.at(-1);
      error = new MicrosError(
        "ERR_APP_CRASHED",
        `The micro's process ${describeExit(outcome.status)} before it was ready${last ? `: ${last}` : ""}. See \`micros logs\` for its output.`,
      );
    }
    this.logs.platform(this.microId, `instance ${this.id} failed to start: ${error.message}`, this.id);
    throw error;
  }

  private pipeOutput(proc: InstanceProcess): void {
    createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
      this.logs.write(this.microId, "stdout", line, this.id),
    );
    createInterface({ input: proc.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
      this.logs.write(this.microId, "stderr", line, this.id);
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
    });
  }

  private end(reason: string): void {
    if (this.state === "stopped") return;
    const wasServing = this.state === "ready" || this.state === "draining";
    this.state = "stopped";
    this.endReason = reason;
    this.markEnded(reason);
    this.agent.destroy();
    if (wasServing) this.logs.platform(this.microId, `instance ${this.id} ${reason}`, this.id);
    this.onEnd(this);
  }

  endedWithin(waitMs: number): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.ended,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Stops the instance: SIGTERM so in-flight work can finish, SIGKILL after the grace period. */
  async stop(): Promise<void> {
    const proc = this.process;
    if (!proc || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    this.stopping = true;
    proc.terminate();
    const timer = setTimeout(() => proc.kill(), this.timeouts.stopGraceMs);
    await proc.exited;
    clearTimeout(timer);
  }
}

type Outcome = RunnerMessage | { type: "exited"; status: ExitStatus } | { type: "timeout" };

function firstMessage(proc: InstanceProcess): Promise<Outcome> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: proc.control });
    lines.once("line", (line) => {
      lines.close();
      try {
        resolve(JSON.parse(line) as RunnerMessage);
      } catch {
        resolve({ type: "failed", code: "ERR_APP_CRASHED", message: "The runner sent an unreadable message." });
      }
    });
  });
}
