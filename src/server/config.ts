import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { DEFAULT_CODE_LIMIT_BYTES } from "../shared/api.js";

const MB = 1024 * 1024;

/** Server settings; every default here is what `micros server` uses without flags. */
export const serverConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(4000),
  /** Loopback by default: exposing the platform is a choice the operator makes with --host. */
  host: z.string().min(1).default("127.0.0.1"),
  dataDir: z.string().min(1).default(".micros-data"),
  /** Micros answer at <subdomain>.<domain>; `localhost` resolves to loopback in browsers and curl. */
  domain: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "must be a host name such as localhost or micros.example.com")
    .default("localhost"),
  /** As Deta did: an instance sleeps after a minute without requests. */
  idleTimeoutMs: z.number().int().positive().default(60_000),
  /**
   * Requests one instance takes at once before the micro starts another. A runner is single-threaded: an I/O-bound
   * handler (waiting on a database or an API) serves 8 at once with ease, and a second instance would cost a cold start
   * and its memory; a CPU-bound handler runs them one after the other, so 8 in flight means 7 waiting, which is where
   * starting another instance (on another core) pays off.
   */
  instanceConcurrency: z.number().int().min(1).default(8),
  /**
   * The most instances one micro runs at once: two per core, so CPU-bound micros can use every core and I/O-bound
   * ones have room, while a flood of requests to one micro cannot fill the machine with instances.
   */
  maxInstances: z
    .number()
    .int()
    .min(1)
    .default(availableParallelism() * 2),
  /** Long enough for a large app's first import on a slow disk. */
  startTimeoutMs: z.number().int().positive().default(30_000),
  /**
   * The Python interpreter for Python micros (and the one their virtual environments are made from). The
   * distribution's by default: the sandbox can see it, and apt manages its packages.
   */
  python: z.string().default(existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"),
  /** How long a retired instance (after a deploy) may go on serving open requests and WebSockets before it is stopped. */
  drainTimeoutMs: z.number().int().positive().default(60_000),
  /** How long a stopping instance may finish in-flight requests after SIGTERM. */
  stopGraceMs: z.number().int().positive().default(5_000),
  /** Deta's limits: 10 s to answer, 5.5 MB of request body. A micro may ask for more, up to the maxima. */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  requestTimeoutMsMax: z.number().int().positive().default(300_000),
  requestBodyBytes: z
    .number()
    .int()
    .positive()
    .default(5.5 * MB),
  requestBodyBytesMax: z
    .number()
    .int()
    .positive()
    .default(100 * MB),
  /** `none` runs instances as plain processes: for development on machines without bubblewrap, never in production. */
  sandbox: z.enum(["bubblewrap", "none"]).default("bubblewrap"),
  /** Sandboxes kept started per runtime, waiting for a micro's first request; each idle one costs ~20 MB. */
  warmPool: z.number().int().min(0).max(16).default(2),
  /** Deta's and Lambda's per-instance promises: 512 MB of memory, 1024 processes and threads, 512 MB of /tmp. */
  memoryBytes: z
    .number()
    .int()
    .min(32 * MB)
    .default(512 * MB),
  /** One micro may not take more than this, whatever it asks for. */
  memoryBytesMax: z
    .number()
    .int()
    .min(32 * MB)
    .default(2048 * MB),
  pidsLimit: z.number().int().min(16).default(1024),
  tmpBytes: z
    .number()
    .int()
    .min(MB)
    .default(512 * MB),
  /** cgroup v2 scale: every instance gets the same share, so a busy one cannot starve the rest or the gateway. */
  cpuWeight: z.number().int().min(1).max(10_000).default(100),
  installTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(10 * 60_000),
  /** Deta's and Lambda's limit for code, compressed and unpacked alike. */
  maxUploadBytes: z.number().int().positive().default(DEFAULT_CODE_LIMIT_BYTES),
  maxCodeBytes: z.number().int().positive().default(DEFAULT_CODE_LIMIT_BYTES),
  /** Releases kept for rollback, the current one included. */
  keepReleases: z.number().int().min(1).default(5),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug"]).default("info"),
});

export type ServerConfig = z.output<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;
