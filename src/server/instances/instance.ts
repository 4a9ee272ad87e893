import { Agent } from "node:http";
import type { StartMessage } from "../../../runtimes/node/protocol.mjs";
import { PROTOCOL } from "../../../runtimes/node/protocol.mjs";
import { ERROR_CODES, MicrosError } from "../../shared/errors.js";
import type { LogSink } from "../logs/log-sink.js";
import type { OperatorLog } from "../logs/operator-log.js";
import { parseControlLine } from "./control.js";
import type { ExitStatus, InstanceProcess, LaunchTimes } from "./executor.js";
import { splitLines } from "./line-splitter.js";

/** A launched process and the start message that tells its runner what to serve. */
export interface Launched {
  process: InstanceProcess;
  start: StartMessage;
}

/**
 * An instance's life: `starting` until its runner says it is ready; `ready` takes requests; `draining` (after a new
 * release or new settings) finishes the requests it has and takes no new ones; `stopping` has been asked to end;
 * `gone` has no process left. These are the only moves, and `move()` is the only writer of the state.
 */
export type InstanceState = "starting" | "ready" | "draining" | "stopping" | "gone";

const MOVES: { readonly [From in InstanceState]: readonly InstanceState[] } = {
  starting: ["ready", "draining", "stopping", "gone"],
  ready: ["draining", "stopping", "gone"],
  draining: ["stopping", "gone"],
  stopping: ["gone"],
  gone: [],
};

/** Where a cold start's time went, for the visor: the launch's phases, then the app loading until it is ready. */
export interface StartTimes extends LaunchTimes {
  loadMs: number;
}

/** The longest line of an app's output kept whole (README, Limits); the rest of a longer line is dropped. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

const STDERR_TAIL = 5;

export interface InstanceOptions {
  id: string;
  microId: string;
  releaseId: string;
  /** What the instance was started with that the micro's row says (release, runtime, memory), to tell when it changed. */
  settings: string;
  logs: LogSink;
  operator: OperatorLog;
  launch: () => Promise<Launched>;
  startMs: number;
  stopGraceMs: number;
  /** Called once the instance is ready, and once it is gone. */
  onChange: (instance: Instance) => void;
}

type StartOutcome =
  | { type: "ready" }
  | { type: "failed"; code: MicrosError["code"]; message: string }
  | { type: "invalid"; problem: string }
  | { type: "exited"; status: ExitStatus }
  | { type: "timeout" };

function describeExit(status: ExitStatus): string {
  if (status.reason) return status.reason;
  return status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
}

/**
 * One running copy of a release: its process, its life, the requests in flight
 * and the keep-alive pool the dispatcher uses to reach it.
 */
export class Instance {
  readonly id: string;
  readonly microId: string;
  readonly releaseId: string;
  readonly settings: string;
  readonly startedAt = Date.now();
  readonly agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  readonly ready: Promise<void>;
  /** Why the instance ended, once it has. */
  endReason: string | undefined;
  /** Where its start's time went, once it is ready. */
  startTimes: StartTimes | undefined;
  private current: InstanceState = "starting";
  private requests = 0;
  private process: InstanceProcess | undefined;
  private readonly launched: Promise<unknown>;
  private readonly stderrTail: string[] = [];
  private served = false;
  /** The platform asked the instance to stop: its end is not the app's failure. */
  private stopAsked = false;
  /** Why the platform killed the instance, when it did so for a reason of its own. */
  private killedBecause: string | undefined;
  private cutReported = false;
  private settleStart: ((outcome: StartOutcome) => void) | undefined;
  private readonly ended: Promise<string>;
  private markEnded: (reason: string) => void = () => {};

  constructor(private readonly options: InstanceOptions) {
    this.id = options.id;
    this.microId = options.microId;
    this.releaseId = options.releaseId;
    this.settings = options.settings;
    this.ended = new Promise((resolve) => {
      this.markEnded = resolve;
    });
    const launch = this.launch();
    this.launched = launch.catch(() => {});
    this.ready = launch.then((launched) => this.boot(launched));
    // Waiters handle the failure; this keeps an unobserved rejection from crashing the daemon.
    this.ready.catch(() => {});
  }

  get state(): InstanceState {
    return this.current;
  }

  get inFlight(): number {
    return this.requests;
  }

  get socketPath(): string {
    if (!this.process) throw new Error("instance has no process yet");
    return this.process.socketPath;
  }

  /** One more request holds the instance. */
  take(): void {
    this.requests++;
  }

  /** A request is done with the instance; returns how many still hold it. */
  give(): number {
    this.requests--;
    return this.requests;
  }

  /** Takes no new requests; the ones it has go on. */
  drain(): void {
    this.move("draining");
  }

  /** Stops the instance, at any point of its life: SIGTERM so in-flight work can finish, SIGKILL after the grace. */
  async stop(): Promise<void> {
    this.stopAsked = true;
    this.move("stopping");
    // Not launched yet: boot kills it as soon as the launch returns.
    await this.launched;
    const proc = this.process;
    if (!proc || this.current === "gone") return;
    proc.terminate();
    const timer = setTimeout(() => proc.kill(), this.options.stopGraceMs);
    await proc.exited;
    clearTimeout(timer);
  }

  /** Why the instance ended, if it ends within `waitMs`. */
  endedWithin(waitMs: number): Promise<string | undefined> {
    if (this.endReason !== undefined) return Promise.resolve(this.endReason);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.ended,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), waitMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private move(to: InstanceState): boolean {
    if (!MOVES[this.current].includes(to)) return false;
    this.current = to;
    return true;
  }

  private async launch(): Promise<Launched> {
    const { microId, id, operator } = this.options;
    try {
      return await this.options.launch();
    } catch (err) {
      this.end(`could not be started: ${(err as Error).message}`);
      if (err instanceof MicrosError && ERROR_CODES[err.code].kind === "user") throw err;
      operator.error({ micro: microId, instance: id, err }, "could not launch an instance");
      if (err instanceof MicrosError) throw err;
      throw new MicrosError("ERR_INTERNAL", `The platform could not start an instance: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private async boot({ process: proc, start }: Launched): Promise<void> {
    const { logs, microId, id } = this.options;
    const launched = performance.now();
    this.process = proc;
    splitLines(proc.stdout, MAX_LOG_LINE_BYTES, (line, cut) => this.output("stdout", line, cut));
    splitLines(proc.stderr, MAX_LOG_LINE_BYTES, (line, cut) => {
      this.output("stderr", line, cut);
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
    });
    proc.control.on("error", () => {});
    splitLines(proc.control, PROTOCOL.maxMessageBytes, (line, cut) => this.control(line, cut));
    const outcome = new Promise<StartOutcome>((resolve) => {
      this.settleStart = resolve;
    });
    void proc.exited.then((status) =>
      this.end(this.killedBecause ?? `${this.describeEnd()}: its process ${describeExit(status)}`, status),
    );
    if (this.current === "stopping") proc.kill();
    else proc.control.write(`${JSON.stringify(start)}\n`);

    const timer = setTimeout(() => this.startSettled({ type: "timeout" }), this.options.startMs);
    const result = await outcome;
    clearTimeout(timer);
    if (result.type === "ready" && this.current !== "stopping" && this.current !== "gone") {
      this.move("ready");
      this.served = true;
      this.startTimes = { ...proc.launchTimes, loadMs: performance.now() - launched };
      const how = proc.preparedAhead ? " (in a sandbox prepared ahead)" : "";
      logs.platform(microId, `instance ${id} started in ${Date.now() - this.startedAt} ms${how}`, id);
      this.options.onChange(this);
      return;
    }
    proc.kill();
    const error = this.startError(result);
    logs.platform(microId, `instance ${id} failed to start: ${error.message}`, id);
    throw error;
  }

  private startError(result: StartOutcome): MicrosError {
    switch (result.type) {
      case "failed":
        return new MicrosError(result.code, result.message);
      case "invalid":
        return new MicrosError(
          "ERR_INSTANCE_PROTOCOL",
          `The micro's instance sent an invalid control message before it was ready (${result.problem}). Something in the app writes to file descriptor 3, which the platform uses to talk to the instance.`,
        );
      case "timeout":
        return new MicrosError(
          "ERR_APP_START_TIMEOUT",
          `The micro did not become ready within ${this.options.startMs / 1000} s of starting. Check that loading index.js does not wait on something that never comes; see \`micros logs\`.`,
        );
      case "exited": {
        if (this.stopAsked) {
          return new MicrosError("ERR_SHUTTING_DOWN", "The instance was stopped before it was ready; try again.");
        }
        const last = this.stderrTail.at(-1);
        return new MicrosError(
          "ERR_APP_CRASHED",
          `The micro's process ${describeExit(result.status)} before it was ready${last ? `: ${last}` : ""}. See \`micros logs\` for its output.`,
        );
      }
      default:
        // A ready that came after the instance was asked to stop.
        return new MicrosError("ERR_SHUTTING_DOWN", "The instance was stopped before it was ready; try again.");
    }
  }

  private startSettled(outcome: StartOutcome): void {
    const settle = this.settleStart;
    this.settleStart = undefined;
    settle?.(outcome);
  }

  /** A line on the control channel: before ready it settles the start; after, any message breaks the protocol. */
  private control(line: string, cut: boolean): void {
    if (this.current === "stopping" || this.current === "gone") return;
    const parsed = parseControlLine(line, cut);
    if (this.settleStart) {
      if (!parsed.ok) this.startSettled({ type: "invalid", problem: parsed.problem });
      else if (parsed.message.type === "ready") this.startSettled({ type: "ready" });
      else this.startSettled(parsed.message);
      return;
    }
    const problem = parsed.ok ? `an unexpected "${parsed.message.type}" message` : parsed.problem;
    this.killedBecause = `sent an invalid control message (${problem}) and was stopped`;
    this.options.operator.warn(
      { micro: this.microId, instance: this.id, problem },
      "an instance sent an invalid control message; it was stopped",
    );
    this.process?.kill();
  }

  private output(source: "stdout" | "stderr", line: string, cut: boolean): void {
    this.options.logs.write(this.microId, source, line, this.id, cut);
    if (cut && !this.cutReported) {
      // Once per instance: an app that prints long lines would otherwise fill the operator's log.
      this.cutReported = true;
      this.options.operator.warn(
        { micro: this.microId, instance: this.id, limitBytes: MAX_LOG_LINE_BYTES },
        "an instance printed a line over the log line limit; it and any later ones are cut",
      );
    }
  }

  private describeEnd(): string {
    return this.stopAsked ? "stopped" : "ended unexpectedly";
  }

  private end(reason: string, status?: ExitStatus): void {
    if (!this.move("gone")) return;
    this.endReason = reason;
    this.markEnded(reason);
    this.agent.destroy();
    if (status) this.startSettled({ type: "exited", status });
    if (this.served) this.options.logs.platform(this.microId, `instance ${this.id} ${reason}`, this.id);
    this.options.onChange(this);
  }
}
