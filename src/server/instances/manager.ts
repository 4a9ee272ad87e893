import type { Agent } from "node:http";
import { MicrosError, toMicrosError } from "../../shared/errors.js";
import type { LimitPolicy } from "../limits.js";
import type { LogSink } from "../logs/log-sink.js";
import type { RuntimeRegistry } from "../runtimes/registry.js";
import { newId } from "../store/ids.js";
import type { Micro } from "../store/micros.js";
import { instanceEnvironment } from "./environment.js";
import type { Executor } from "./executor.js";
import { Instance, type InstanceState } from "./instance.js";
import { StartBackoff, type StartFailures } from "./start-backoff.js";

export interface InstanceManagerOptions {
  executor: Executor;
  runtimes: RuntimeRegistry;
  logs: LogSink;
  /** Host folder of a release's code. */
  releaseDir(microId: string, releaseId: string): string;
  /** The micro's own environment variables. */
  userEnv(microId: string): Record<string, string>;
  /** The key of the micro's project, for its environment. */
  projectKey(projectId: string): string;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  stopGraceMs: number;
  drainTimeoutMs: number;
  limits: LimitPolicy;
  /** The clock, injectable so tests need not wait out a backoff. */
  now?: () => number;
}

/** What the gateway needs to send one request to an instance; `done()` when the response has ended. */
export interface Lease {
  instanceId: string;
  socketPath: string;
  agent: Agent;
  /** Whether this request waited for the instance to start (a cold start). */
  cold: boolean;
  done(): void;
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
 * it among later and concurrent requests, stops it when idle (scale to zero)
 * and drains it when a new release goes live.
 */
export class InstanceManager {
  /** The instance that takes new requests, per micro. */
  private readonly serving = new Map<string, Instance>();
  private readonly all = new Set<Instance>();
  private readonly idleTimers = new Map<Instance, NodeJS.Timeout>();
  private closing = false;
  private readonly backoff: StartBackoff;

  constructor(private readonly options: InstanceManagerOptions) {
    this.backoff = new StartBackoff(options.now);
  }

  async acquire(micro: Micro): Promise<Lease> {
    if (this.closing) throw new MicrosError("ERR_SHUTTING_DOWN", "The server is shutting down; try again shortly.");
    const releaseId = micro.currentReleaseId;
    if (!releaseId) {
      throw new MicrosError(
        "ERR_NO_RELEASE",
        `The micro ${micro.name} has no code yet. Deploy it with \`micros deploy\`.`,
      );
    }
    let instance = this.serving.get(micro.id);
    if (instance && instance.releaseId !== releaseId) {
      this.retire(micro.id);
      instance = undefined;
    }
    if (!instance) {
      this.backoff.check(micro.id);
      instance = this.start(micro, releaseId);
    }
    const cold = instance.state === "starting";
    instance.inFlight++;
    this.clearIdle(instance);
    try {
      await instance.ready;
    } catch (err) {
      this.finished(instance);
      throw err;
    }
    let released = false;
    return {
      instanceId: instance.id,
      socketPath: instance.socketPath,
      agent: instance.agent,
      cold,
      endReason: (waitMs) => instance.endedWithin(waitMs),
      done: () => {
        if (released) return;
        released = true;
        this.finished(instance);
      },
    };
  }

  /** The micro's serving instance stops taking requests and ends once its in-flight requests are done. */
  retire(microId: string): void {
    this.backoff.reset(microId);
    const instance = this.serving.get(microId);
    if (!instance) return;
    this.serving.delete(microId);
    if (instance.state === "ready" || instance.state === "starting") instance.state = "draining";
    if (instance.inFlight === 0) void this.stop(instance);
    // Long-lived connections (WebSockets, streams) must not keep an old release alive for ever.
    else setTimeout(() => void this.stop(instance), this.options.drainTimeoutMs).unref();
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

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.all].map((instance) => this.stop(instance)));
  }

  private start(micro: Micro, releaseId: string): Instance {
    const runtime = this.options.runtimes.get(micro.runtime);
    const appDir = this.options.releaseDir(micro.id, releaseId);
    const id = newId(10);
    const instance = new Instance(
      id,
      micro.id,
      releaseId,
      this.options.logs,
      async () => {
        const entry = await runtime.findEntry(appDir);
        const env = instanceEnvironment(
          micro,
          this.options.userEnv(micro.id),
          this.options.projectKey(micro.projectId),
        );
        const process = await this.options.executor.launch({
          instanceId: id,
          microId: micro.id,
          uid: micro.uid,
          memoryBytes: this.options.limits.effective(micro.limits).memoryBytes,
          appDir,
          runtimeDir: runtime.runnerDir,
          command: runtime.command,
        });
        const { appDir: insideAppDir, socketPath } = process.inside;
        return { process, start: { type: "start", appDir: insideAppDir, entry, socketPath, env } };
      },
      { startMs: this.options.startTimeoutMs, stopGraceMs: this.options.stopGraceMs },
      (ended) => this.forget(ended),
    );
    instance.ready.then(
      () => this.backoff.reset(micro.id),
      (err: unknown) => {
        // A failed instance takes no more requests, even before its process is seen to exit.
        if (this.serving.get(micro.id) === instance) this.serving.delete(micro.id);
        this.backoff.failed(micro.id, toMicrosError(err));
      },
    );
    this.serving.set(micro.id, instance);
    this.all.add(instance);
    return instance;
  }

  private finished(instance: Instance): void {
    instance.inFlight--;
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
      if (this.serving.get(instance.microId) === instance) this.serving.delete(instance.microId);
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
    if (this.serving.get(instance.microId) === instance) this.serving.delete(instance.microId);
    await instance.ready.catch(() => {});
    await instance.stop();
  }

  private forget(instance: Instance): void {
    this.clearIdle(instance);
    this.all.delete(instance);
    if (this.serving.get(instance.microId) === instance) this.serving.delete(instance.microId);
  }
}
