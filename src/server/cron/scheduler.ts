import { toMicrosError } from "../../shared/errors.js";
import type { LogSink } from "../logs/log-sink.js";
import type { OperatorLog } from "../logs/operator-log.js";
import type { Micro } from "../store/micros.js";
import type { Store } from "../store/store.js";
import { nextRun, parseSchedule } from "./expression.js";

/** Re-reads the schedules at least this often, so a new one is never waited on for long. */
const MAX_SLEEP_MS = 30_000;

export interface SchedulerOptions {
  store: Store;
  logs: LogSink;
  /** Where failed runs are reported to the operator too. */
  operator?: OperatorLog;
  /** Delivers a cron event to the micro and returns when its handler is done; `signal` aborts when the server stops. */
  fire(micro: Micro, expression: string, signal: AbortSignal): Promise<unknown>;
  /** The clock, injectable so tests need not wait for real minutes. */
  now?: () => number;
  /**
   * How long after a run is due this server waits before it claims it: on a cluster's nodes, none on the node that
   * runs the micro and a moment elsewhere, so the run lands where the micro's instances are warm, and another node
   * takes it only when that one did not.
   */
  graceFor?(microId: string): number;
}

/**
 * Fires each micro's schedule when it is due. A server that was down for a
 * while finds its schedules in the past and fires each of them once (one
 * catch-up run), then goes on from the present, never firing every run it
 * missed. Servers sharing one store fire each run once between them.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<string>();
  private readonly now: () => number;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort(new Error("the server is stopping"));
  }

  /** Fires every due schedule once; the next run is counted from now, so missed runs collapse into this one. */
  async tick(): Promise<void> {
    const now = this.now();
    const due = (await this.options.store.schedules.all()).filter(
      (row) => this.claimableAt(row) <= now && !this.running.has(row.microId),
    );
    await Promise.all(
      due.map(async (row) => {
        const micro = await this.options.store.micros.byId(row.microId);
        if (!micro) return;
        const next = nextRun(parseSchedule(row.expression), now, now);
        // Every server on a shared store ticks; the one whose claim lands runs it, the others leave it.
        if (!(await this.options.store.schedules.claim(micro.id, row.nextRunAt, now, next))) return;
        await this.run(micro, row.expression);
      }),
    );
  }

  /** Runs a micro's cron handler now, logging its start, outcome and duration. */
  async run(
    micro: Micro,
    expression: string,
  ): Promise<{ ok: boolean; durationMs: number; result?: unknown; error?: string }> {
    this.running.add(micro.id);
    const started = this.now();
    this.options.logs.platform(micro.id, `cron run started (schedule "${expression}")`);
    try {
      const result = await this.options.fire(micro, expression, this.stopping.signal);
      const durationMs = this.now() - started;
      this.options.logs.platform(micro.id, `cron run finished in ${durationMs} ms`);
      return { ok: true, durationMs, result };
    } catch (err) {
      const durationMs = this.now() - started;
      const error = toMicrosError(err).message;
      this.options.logs.platform(micro.id, `cron run failed after ${durationMs} ms: ${error}`);
      this.options.operator?.warn({ micro: micro.id, durationMs, err }, "a cron run failed");
      return { ok: false, durationMs, error };
    } finally {
      this.running.delete(micro.id);
    }
  }

  private arm(): void {
    if (this.stopped) return;
    void this.nextDue().then((next) => {
      // The server may have stopped while the store was asked.
      if (this.stopped) return;
      const wait = next === undefined ? MAX_SLEEP_MS : Math.max(0, Math.min(next - this.now(), MAX_SLEEP_MS));
      this.timer = setTimeout(() => {
        // Runs go on in the background (each held to the micro's timeout); the next due times are already set.
        this.tick().catch((err: unknown) =>
          this.options.operator?.warn({ err }, "cron: cannot read or update the schedules"),
        );
        this.arm();
      }, wait);
      this.timer.unref();
    });
  }

  private claimableAt(row: { microId: string; nextRunAt: number }): number {
    return row.nextRunAt + (this.options.graceFor?.(row.microId) ?? 0);
  }

  /** When the soonest schedule is due: undefined for none, or while the store cannot say (asked again soon). */
  private async nextDue(): Promise<number | undefined> {
    try {
      const rows = await this.options.store.schedules.all();
      return rows.length === 0 ? undefined : Math.min(...rows.map((row) => this.claimableAt(row)));
    } catch (err) {
      this.options.operator?.warn({ err }, "cron: cannot read the schedules; trying again shortly");
      return undefined;
    }
  }
}
