import type { ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { DataServiceName } from "../data/data-service.js";
import type { InstanceState } from "../instances/instance.js";

/** What a finished exchange came to, by its status: few values, so a label of it stays small. */
type Outcome = "ok" | "client_error" | "server_error" | "aborted";

/** The outcome of a response once it has closed: `aborted` when it closed before it was sent whole. */
function responseOutcome(res: ServerResponse): Outcome {
  if (!res.writableFinished) return "aborted";
  if (res.statusCode >= 500) return "server_error";
  return res.statusCode >= 400 ? "client_error" : "ok";
}

/** How a started instance ended its start: `cancelled` when the platform stopped it first (a deploy, a shutdown). */
export type StartOutcome = "ready" | "failed" | "cancelled";

/** The instance states that hold a process, each a gauge even at zero (a `gone` instance is forgotten at once). */
const LIVE_STATES = ["starting", "ready", "draining", "stopping"] as const satisfies readonly InstanceState[];

/** What is read from the running parts at each scrape rather than counted as it happens. */
export interface ScrapeSources {
  /** Instances by state, and the requests they hold. */
  instances(): { states: ReadonlyMap<InstanceState, number>; inFlight: number };
  /** Sandboxes the warm pool keeps, by runtime (none without a sandbox). */
  warmPool(): readonly { runtime: string; ready: number; preparing: number }[];
}

// Buckets in seconds, each spanning what its measurement really takes: a request through the gateway from
// milliseconds to the longest timeout a micro may set; the gateway's own part from a fraction of a millisecond
// (a warm instance) to a slow cold start; a start from a pooled sandbox's tens of ms to the start timeout; a build
// from a reused install's seconds to the build timeout.
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const GATEWAY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const START_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BUILD_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800];

/**
 * The server's metrics, in a registry of its own (never prom-client's global one, so two servers in one process,
 * as in tests, keep theirs apart). The parts that see something happen record it through the methods here; what
 * is a state rather than an event (instances, the warm pool) is read from them at each scrape. Every record is a
 * label lookup and an addition: nothing here waits or allocates per request beyond prom-client's label key.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"micro" | "status">;
  private readonly requestSeconds: Histogram<"micro">;
  private readonly gatewaySeconds: Histogram<"cold">;
  private readonly coldStarts: Counter<"runtime" | "outcome">;
  private readonly coldStartSeconds: Histogram<"runtime" | "prepared_ahead">;
  private readonly deploys: Counter<"outcome">;
  private readonly buildSeconds: Histogram<"outcome">;
  private readonly dataOperations: Record<DataServiceName, Counter<"op" | "outcome">>;
  private readonly nodeForwards: Counter<"outcome">;
  private sources: ScrapeSources | undefined;

  constructor() {
    const registers = [this.registry];
    // The daemon's own process: memory, CPU, heap, garbage collection, handles, event loop lag.
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: "micros_requests_total",
      help: "Requests to micros through the gateway, by micro (its subdomain) and the status answered (499: the client left first).",
      labelNames: ["micro", "status"],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: "micros_request_duration_seconds",
      help: "Time from a request's arrival at the gateway until its response is over, by micro.",
      labelNames: ["micro"],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.gatewaySeconds = new Histogram({
      name: "micros_gateway_duration_seconds",
      help: "Time from a request's arrival until it is sent to an instance (lookup, access, body limit, lease), by whether it waited for a cold start.",
      labelNames: ["cold"],
      buckets: GATEWAY_BUCKETS,
      registers,
    });
    this.coldStarts = new Counter({
      name: "micros_cold_starts_total",
      help: "Instances started, by runtime and how the start ended (ready, failed, or cancelled by the platform).",
      labelNames: ["runtime", "outcome"],
      registers,
    });
    this.coldStartSeconds = new Histogram({
      name: "micros_cold_start_duration_seconds",
      help: "Time from an instance's start until it is ready, by runtime and whether its sandbox was prepared ahead.",
      labelNames: ["runtime", "prepared_ahead"],
      buckets: START_BUCKETS,
      registers,
    });
    this.deploys = new Counter({
      name: "micros_deploys_total",
      help: "Deploys, by outcome: ok, or the error code that failed them.",
      labelNames: ["outcome"],
      registers,
    });
    this.buildSeconds = new Histogram({
      name: "micros_build_duration_seconds",
      help: "Time a deploy's build took, from the upload received to the release live (or failed), by outcome (ok or failed).",
      labelNames: ["outcome"],
      buckets: BUILD_BUCKETS,
      registers,
    });
    this.nodeForwards = new Counter({
      name: "micros_node_forwards_total",
      help: "Requests passed to the node that runs their micro (several nodes), by outcome: sent, unreachable.",
      labelNames: ["outcome"],
      registers,
    });
    this.dataOperations = {
      base: new Counter({
        name: "micros_base_operations_total",
        help: "Base requests, by operation and outcome.",
        labelNames: ["op", "outcome"],
        registers,
      }),
      drive: new Counter({
        name: "micros_drive_operations_total",
        help: "Drive requests, by operation and outcome.",
        labelNames: ["op", "outcome"],
        registers,
      }),
    };
    this.scrapedGauges();
  }

  /** Where the gauges read at each scrape come from, once the parts that hold them have started. */
  observe(sources: ScrapeSources): void {
    this.sources = sources;
  }

  /** One request to a micro, once its response is over (or the client left: status 499). */
  request(micro: string, status: number, seconds: number): void {
    this.requests.inc({ micro, status: String(status) });
    this.requestSeconds.observe({ micro }, seconds);
  }

  /** The gateway sent a request to an instance `seconds` after it arrived. */
  forwarded(seconds: number, cold: boolean): void {
    this.gatewaySeconds.observe({ cold: String(cold) }, seconds);
  }

  /** A request went to the node that runs its micro, or that node could not be reached. */
  nodeForward(outcome: "sent" | "unreachable"): void {
    this.nodeForwards.inc({ outcome });
  }

  /** An instance's start ended; `seconds` is how long it took to be ready (only a ready one is timed). */
  coldStart(runtime: string, outcome: StartOutcome, seconds: number, preparedAhead: boolean): void {
    this.coldStarts.inc({ runtime, outcome });
    if (outcome === "ready") this.coldStartSeconds.observe({ runtime, prepared_ahead: String(preparedAhead) }, seconds);
  }

  /** A deploy ended: `ok` or its error code; its build is timed when the upload had been received. */
  deploy(outcome: string, buildSeconds: number | undefined): void {
    this.deploys.inc({ outcome });
    if (buildSeconds !== undefined) {
      this.buildSeconds.observe({ outcome: outcome === "ok" ? "ok" : "failed" }, buildSeconds);
    }
  }

  /** One Base or Drive request for `op`, counted with its outcome once its response closes. */
  dataOperation(service: DataServiceName, op: string, res: ServerResponse): void {
    res.once("close", () => this.dataOperations[service].inc({ op, outcome: responseOutcome(res) }));
  }

  /** The registry's text, in Prometheus' text format (its content type is `contentType`). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Gauges read from the running parts at each scrape, and what the default metrics lack. */
  private scrapedGauges(): void {
    const registers = [this.registry];
    const sources = () => this.sources;
    new Gauge({
      name: "micros_instances",
      help: "Instances of micros, by state (starting, ready, draining, stopping).",
      labelNames: ["state"],
      registers,
      collect() {
        const counted = sources()?.instances().states;
        for (const state of LIVE_STATES) this.set({ state }, counted?.get(state) ?? 0);
      },
    });
    new Gauge({
      name: "micros_instance_requests_in_flight",
      help: "Requests and WebSockets that instances hold right now.",
      registers,
      collect() {
        this.set(sources()?.instances().inFlight ?? 0);
      },
    });
    new Gauge({
      name: "micros_warm_pool_sandboxes",
      help: "Sandboxes the warm pool keeps for first requests, by runtime and state (ready, or preparing).",
      labelNames: ["runtime", "state"],
      registers,
      collect() {
        this.reset();
        for (const { runtime, ready, preparing } of sources()?.warmPool() ?? []) {
          this.set({ runtime, state: "ready" }, ready);
          this.set({ runtime, state: "preparing" }, preparing);
        }
      },
    });
    // The default metrics give the event loop's lag but not how busy it is; the rate of this is its utilization.
    new Counter({
      name: "micros_event_loop_busy_seconds_total",
      help: "Time the daemon's event loop spent running code rather than waiting; its rate is the loop's utilization.",
      registers,
      collect() {
        this.reset();
        this.inc(performance.eventLoopUtilization().active / 1000);
      },
    });
  }
}
