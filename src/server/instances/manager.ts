import type { Agent } from "node:http";
import { availableParallelism } from "node:os";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { OperatorLog } from "../logs/operator-log.js";
import type { Metrics, StartOutcome } from "../metrics/metrics.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import { newId } from "../store/ids.js";
import type { Micro } from "../store/micros.js";
import { instanceEnvironment } from "./environment.js";
import type { Executor } from "./executor.js";
import { Instance, type InstanceState, type StartTimes } from "./instance.js";
import { StartBackoff, type StartFailures } from "./start-backoff.js";

export interface InstanceManagerOptions {
  executor: Executor;
  runtimes: RuntimeRegistry;
  logs: LogSink;
  operator: OperatorLog;
  /** Host folder of a release's code, fetched first if this node does not have it; undefined if it is not kept. */
  releaseDir(micro: Micro, releaseId: string): Promise<string | undefined>;
  /** The micro's own environment variables. */
  userEnv(microId: string): Promise<Record<string, string>>;
  /** The key of the micro's project, for its environment. */
  projectKey(projectId: string): Promise<string>;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  stopGraceMs: number;
  drainTimeoutMs: number;
  /** Requests one instance takes at once before another instance of its micro is started. */
  instanceConcurrency: number;
  /** The most instances (starting or ready) that take a micro's requests at once. */
  maxInstances: number;
  limits: LimitPolicy;
  /**
   * Launches under way at once (two per core by default). A launch builds a sandbox (cgroups, a network namespace,
   * a /tmp disk): forty at once on two cores made each take over a minute; a few at a time, the rest waiting their
   * turn, finish sooner.
   */
  concurrentLaunches?: number;
  /** The clock, injectable so tests need not wait out a backoff. */
  now?: () => number;
  /** Where cold starts are counted and timed. */
  metrics?: Metrics;
  /** Tells the other nodes of a cluster that a micro's instances were retired here, so they retire theirs. */
  announceRetire?(microId: string): void;
}

/**
 * One request's hold on an instance, for the dispatcher (the only taker): where to send it, and `release()` once the
 * exchange is over, from a `finally`. Releasing twice is harmless.
 */
export interface Lease {
  instanceId: string;
  socketPath: string;
  agent: Agent;
  /** Whether this request waited for the instance to start (a cold start). */
  cold: boolean;
  /** For a cold start, where the start's time went. */
  startTimes: StartTimes | undefined;
  release(): void;
  /** Why the instance ended, if it ends within `waitMs`. */
  endReason(waitMs: number): Promise<string | undefined>;
}

export interface InstanceInfo {
  id: string;
  state: InstanceState;
  releaseId: string;
  startedAt: number;
  inFlight: number;
}

/**
 * Starts an instance of a micro's current release on its first request, shares
 * it among later and concurrent requests, starts more while every one is busy
 * (scale out), stops each when idle (scale to zero) and drains them all when a
 * new release goes live.
 */
export class InstanceManager {
  /** The instances that take new requests (starting or ready), per micro, oldest first. */
  private readonly serving = new Map<string, Instance[]>();
  private readonly all = new Set<Instance>();
  private readonly idleTimers = new Map<Instance, NodeJS.Timeout>();
  private closing = false;
  private readonly backoff: StartBackoff;
  private readonly launches: Limiter;

  constructor(private readonly options: InstanceManagerOptions) {
    this.backoff = new StartBackoff(options.now);
    this.launches = new Limiter(options.concurrentLaunches ?? Math.max(2, availableParallelism() * 2));
  }

  /**
   * An instance for one request: the least busy one, or a new one (a cold start) that this waits for. The wait ends
   * early, with the signal's reason, when the signal aborts (the client went away); the request's hold is then given
   * back here, since no caller has a lease to release yet.
   */
  async acquire(micro: Micro, signal?: AbortSignal): Promise<Lease> {
    signal?.throwIfAborted();
    if (this.closing) throw new MicrosError("ERR_SHUTTING_DOWN", "The server is shutting down; try again shortly.");
    const releaseId = micro.currentReleaseId;
    if (!releaseId) {
      throw new MicrosError(
        "ERR_NO_RELEASE",
        `The micro ${micro.name} has no code yet. Deploy it with \`micros deploy\`.`,
      );
    }
    // Instances started with other settings than the micro's row has now (a release switched by a deploy or a
    // rollback, a new runtime or memory limit) take no more requests, whoever changed them.
    const settings = `${releaseId} ${micro.runtime} ${this.options.limits.effective(micro.limits).memoryBytes}`;
    if (this.serving.get(micro.id)?.some((instance) => instance.settings !== settings)) this.drainAll(micro.id);
    const instance = this.choose(micro, releaseId, settings);
    const cold = instance.state === "starting";
    instance.take();
    this.clearIdle(instance);
    if (cold) {
      try {
        await untilAborted(instance.ready, signal);
      } catch (err) {
        this.give(instance);
        throw err;
      }
    }
    let released = false;
    return {
      instanceId: instance.id,
      socketPath: instance.socketPath,
      agent: instance.agent,
      cold,
      startTimes: cold ? instance.startTimes : undefined,
      endReason: (waitMs) => instance.endedWithin(waitMs),
      release: () => {
        if (released) return;
        released = true;
        this.give(instance);
      },
    };
  }

  /**
   * A setting the micro's instances were started with has changed (a release, environment variables, memory, the
   * project key, the runtime): each instance stops taking requests and ends once its in-flight requests are done.
   */
  retire(microId: string, { announce = true } = {}): void {
    this.drainAll(microId);
    if (announce) this.options.announceRetire?.(microId);
  }

  /** Retires every micro's instances: what changed while this node could not hear the others is unknown. */
  retireAll(): void {
    for (const microId of [...this.serving.keys()]) this.drainAll(microId);
  }

  private drainAll(microId: string): void {
    this.backoff.reset(microId);
    const instances = this.serving.get(microId) ?? [];
    this.serving.delete(microId);
    for (const instance of instances) {
      instance.drain();
      this.clearIdle(instance);
      if (instance.inFlight === 0) void this.stop(instance);
      // Long-lived connections (WebSockets, streams) must not keep an old release alive for ever.
      else setTimeout(() => void this.stop(instance), this.options.drainTimeoutMs).unref();
    }
  }

  /** Consecutive failed starts of a micro, if its last start failed. */
  startFailures(microId: string): StartFailures | undefined {
    return this.backoff.get(microId);
  }

  list(microId: string): InstanceInfo[] {
    return [...this.all]
      .filter((instance) => instance.microId === microId)
      .map(({ id, state, releaseId, startedAt, inFlight }) => ({ id, state, releaseId, startedAt, inFlight }));
  }

  /** Stops every instance of a micro, in-flight work or not: the micro is going away. */
  async stopAll(microId: string): Promise<void> {
    this.backoff.reset(microId);
    await Promise.all(
      [...this.all].filter((instance) => instance.microId === microId).map((instance) => this.stop(instance)),
    );
  }

  /** How many instances are in each state, and the requests they hold: read at each metrics scrape. */
  census(): { states: Map<InstanceState, number>; inFlight: number } {
    const states = new Map<InstanceState, number>();
    let inFlight = 0;
    for (const instance of this.all) {
      states.set(instance.state, (states.get(instance.state) ?? 0) + 1);
      inFlight += instance.inFlight;
    }
    return { states, inFlight };
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.all].map((instance) => this.stop(instance)));
  }

  /**
   * The instance for one more request. The least-loaded ready instance below its concurrency target takes it at
   * once. When every ready instance is at its target, the request waits for an instance that is starting, or starts
   * one (up to the micro's maximum): a cold start costs tens to a few hundred ms, while a runner is single-threaded,
   * so queueing behind a target's worth of CPU-bound requests costs their whole run time; an I/O-bound app seldom
   * reaches the target, so it is seldom made to wait. Only `target` requests wait for each start, so a burst does
   * not all queue on one cold instance. At the maximum (or while starts are failing), the least-loaded instance
   * takes the request over its target.
   */
  private choose(micro: Micro, releaseId: string, settings: string): Instance {
    const instances = this.serving.get(micro.id) ?? [];
    const target = this.options.instanceConcurrency;
    const withRoom = (state: InstanceState) =>
      leastLoaded(instances.filter((instance) => instance.state === state && instance.inFlight < target));
    const room = withRoom("ready") ?? withRoom("starting");
    if (room) return room;
    if (instances.length === 0) {
      this.backoff.check(micro.id);
      return this.start(micro, releaseId, settings);
    }
    if (instances.length < this.options.maxInstances && !this.backoff.waiting(micro.id)) {
      this.options.logs.platform(
        micro.id,
        `starting another instance: each of its ${instances.length} has ${target} requests in flight`,
      );
      return this.start(micro, releaseId, settings);
    }
    const ready = instances.filter((instance) => instance.state === "ready");
    return leastLoaded(ready.length > 0 ? ready : instances) as Instance;
  }

  private start(micro: Micro, releaseId: string, settings: string): Instance {
    const runtime = this.options.runtimes.get(micro.runtime);
    const id = newId(10);
    const began = performance.now();
    let preparedAhead = false;
    const instance = new Instance({
      id,
      microId: micro.id,
      releaseId,
      settings,
      logs: this.options.logs,
      operator: this.options.operator,
      launch: async () => {
        const appDir = await this.options.releaseDir(micro, releaseId);
        if (!appDir) {
          throw new MicrosError(
            "ERR_INTERNAL",
            `Release ${releaseId} of ${micro.name} is neither on this node nor kept.`,
          );
        }
        const entry = await runtime.findEntry(appDir);
        const [userEnv, projectKey] = await Promise.all([
          this.options.userEnv(micro.id),
          this.options.projectKey(micro.projectId),
        ]);
        const env = instanceEnvironment(micro, userEnv, projectKey);
        const process = await this.launches.run(
          () =>
            this.options.executor.launch({
              instanceId: id,
              microId: micro.id,
              memoryBytes: this.options.limits.effective(micro.limits).memoryBytes,
              appDir,
              runner: { runtime: runtime.id, runtimeDir: runtime.runnerDir, command: runtime.command },
            }),
          this.options.startTimeoutMs,
        );
        preparedAhead = process.preparedAhead;
        const { appDir: insideAppDir, socketPath } = process.inside;
        return { process, start: { type: "start", appDir: insideAppDir, entry, socketPath, env } };
      },
      startMs: this.options.startTimeoutMs,
      stopGraceMs: this.options.stopGraceMs,
      onChange: (changed) => (changed.state === "gone" ? this.forget(changed) : this.settle(changed)),
    });
    const started = (outcome: StartOutcome) =>
      this.options.metrics?.coldStart(runtime.id, outcome, (performance.now() - began) / 1000, preparedAhead);
    instance.ready.then(
      () => {
        this.backoff.reset(micro.id);
        started("ready");
      },
      (err: unknown) => {
        // A failed instance takes no more requests, even before its process is seen to exit.
        this.unserve(instance);
        // Stopped by the platform while starting (a deploy, a shutdown): not the app's failure.
        const error = toMicrosError(err);
        if (error.code !== "ERR_SHUTTING_DOWN") this.backoff.failed(micro.id, error);
        started(error.code === "ERR_SHUTTING_DOWN" ? "cancelled" : "failed");
      },
    );
    this.serving.set(micro.id, [...(this.serving.get(micro.id) ?? []), instance]);
    this.all.add(instance);
    return instance;
  }

  private give(instance: Instance): void {
    if (instance.give() === 0) this.settle(instance);
  }

  /**
   * What an instance with nothing in flight does next: a ready one sleeps after the idle timeout, a draining one
   * stops. Called when its last request ends and when it becomes ready (every request that waited may have gone).
   */
  private settle(instance: Instance): void {
    if (instance.inFlight > 0) return;
    if (instance.state === "draining") void this.stop(instance);
    else if (instance.state === "ready") this.armIdle(instance);
  }

  private armIdle(instance: Instance): void {
    this.clearIdle(instance);
    const timer = setTimeout(() => {
      this.idleTimers.delete(instance);
      if (instance.inFlight > 0) return;
      this.options.logs.platform(
        instance.microId,
        `instance ${instance.id} is going to sleep after being idle`,
        instance.id,
      );
      this.unserve(instance);
      void this.stop(instance);
    }, this.options.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(instance, timer);
  }

  private clearIdle(instance: Instance): void {
    const timer = this.idleTimers.get(instance);
    if (timer) clearTimeout(timer);
    this.idleTimers.delete(instance);
  }

  private async stop(instance: Instance): Promise<void> {
    this.clearIdle(instance);
    this.unserve(instance);
    await instance.stop();
  }

  private forget(instance: Instance): void {
    this.clearIdle(instance);
    this.all.delete(instance);
    this.unserve(instance);
  }

  /** The instance takes no more new requests. */
  private unserve(instance: Instance): void {
    const rest = (this.serving.get(instance.microId) ?? []).filter((other) => other !== instance);
    if (rest.length > 0) this.serving.set(instance.microId, rest);
    else this.serving.delete(instance.microId);
  }
}

/** The instance with the fewest requests in flight; the oldest among equals, so newer ones can go idle. */
function leastLoaded(instances: Instance[]): Instance | undefined {
  return instances.reduce<Instance | undefined>(
    (best, next) => (!best || next.inFlight < best.inFlight ? next : best),
    undefined,
  );
}

/** The promise, or the signal's reason as soon as it aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(err);
      },
    );
  });
}

/** Runs at most `limit` tasks at once; the others wait their turn in order. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** A task that takes longer than `holdMs` goes on, but gives up its place: a stuck one cannot block the rest. */
  async run<T>(task: () => Promise<T>, holdMs: number): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      // The place goes straight to the next in line, so none can slip in between.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
    const timer = setTimeout(release, holdMs);
    try {
      return await task();
    } finally {
      clearTimeout(timer);
      release();
    }
  }
}
