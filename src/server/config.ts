/**
 * Every server setting, defined once: its flag (`--build-memory`), environment variable (`MICROS_BUILD_MEMORY`) and
 * config file key (`build-memory`) all come from its entry here, with its default, the range it accepts and its help
 * text. `micros server` generates its options from this table, so flags, variables, `--help` and docs/cli.md agree.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import proxyaddr from "proxy-addr";
import { z } from "zod";
import { DEFAULT_CODE_LIMIT_BYTES, LIMIT_BOUNDS } from "../shared/api.js";
import { parseDuration } from "../shared/duration.js";
import { MicrosError } from "../shared/errors.js";
import { isPostgresUrl, redactUrl } from "./store/database-url.js";

const MB = 1024 * 1024;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** A kind of value: how its text (a flag, a variable, a file's entry) is read, and what it must be. */
interface ValueType<T> {
  /** The placeholder in `--help`: `<MB>`, `<duration>`. */
  readonly arg: string;
  /** What it accepts, for the line that refuses a value. */
  readonly accepts: string;
  /** The range of a number, short, for `--help`. */
  readonly range?: string;
  /** The value's check, for text once read and for configs built in code. */
  readonly schema: z.ZodType<T>;
  /** Text into the value's unit (MB into bytes, `15m` into ms); undefined when it is not of this kind at all. */
  read(text: string): unknown;
  /** A value as an operator writes it, for defaults in `--help`. */
  show(value: T): string;
  /** The given text as a refusal may quote it, for values that can hold a secret (a URL's password). */
  readonly quote?: (text: string) => string;
}

function count(min: number, max: number, arg = "<count>"): ValueType<number> {
  return {
    arg,
    accepts: `a whole number from ${min} to ${max}`,
    range: `${min}-${max}`,
    schema: z.number().int().min(min).max(max),
    read: (text) => (/^\d+$/.test(text) ? Number(text) : undefined),
    show: String,
  };
}

/** A size written in MB (`5.5` is allowed), kept in bytes. */
function megabytes(minMb: number, maxMb: number): ValueType<number> {
  return {
    arg: "<MB>",
    accepts: `a size in MB from ${minMb} to ${maxMb}`,
    range: `${minMb}-${maxMb} MB`,
    schema: z
      .number()
      .int()
      .min(Math.ceil(minMb * MB))
      .max(maxMb * MB),
    read: (text) => (/^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * MB) : undefined),
    show: (bytes) => String(bytes / MB),
  };
}

function showDuration(ms: number): string {
  const units = [
    ["h", HOUR],
    ["m", MINUTE],
    ["s", SECOND],
  ] as const;
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A duration written as `500ms`, `30s`, `10m`, `2h`, kept in milliseconds. */
function duration(minMs: number, maxMs: number): ValueType<number> {
  return {
    arg: "<duration>",
    accepts: `a duration from ${showDuration(minMs)} to ${showDuration(maxMs)}, such as 30s, 10m or 1h`,
    range: `${showDuration(minMs)}-${showDuration(maxMs)}`,
    schema: z.number().int().min(minMs).max(maxMs),
    read: (text) => {
      const ms = parseDuration(text);
      return ms === undefined ? undefined : Math.round(ms);
    },
    show: showDuration,
  };
}

function oneOf<const T extends string>(values: readonly [T, ...T[]], arg: string): ValueType<T> {
  return {
    arg,
    accepts: `one of ${values.join(", ")}`,
    schema: z.enum(values) as unknown as z.ZodType<T>,
    read: (text) => text,
    show: (value) => value,
  };
}

/** The type, or the empty string: a setting that is off unless it is given. */
function offOr(type: ValueType<string>): ValueType<string> {
  return { ...type, schema: z.union([z.literal(""), type.schema]), show: (value) => value || "off" };
}

/** `<address>:<port>` to listen on; an IPv6 address in brackets. */
function listenAddress(): ValueType<string> {
  return {
    arg: "<address:port>",
    accepts: "an address and port such as 127.0.0.1:9464 or [::1]:9464",
    schema: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/)
      .refine((value) => Number(value.slice(value.lastIndexOf(":") + 1)) <= 65_535),
    read: (value) => value,
    show: (value) => value,
  };
}

function text(arg: string, accepts: string, pattern = /^\S(.*\S)?$/): ValueType<string> {
  return {
    arg,
    accepts,
    schema: z.string().min(1).max(4096).regex(pattern),
    read: (value) => value,
    show: (value) => value,
  };
}

/** A file's path, or nothing (the empty string): for settings that turn a feature on. */
function optionalText(arg: string, accepts: string): ValueType<string> {
  return {
    arg,
    accepts,
    schema: z.union([z.literal(""), text(arg, accepts).schema]),
    read: (value) => value,
    show: (value) => value || "none",
  };
}

/** Addresses and CIDR ranges (or proxy-addr's `loopback`, `linklocal`, `uniquelocal`), comma-separated. */
function addressList(): ValueType<readonly string[]> {
  const valid = (entry: string) => {
    try {
      proxyaddr.compile(entry);
      return true;
    } catch {
      return false;
    }
  };
  return {
    arg: "<addresses>",
    accepts: "IP addresses or CIDR ranges, comma-separated, such as 127.0.0.1,10.0.0.0/8 (or loopback)",
    schema: z.array(z.string().refine(valid)).readonly(),
    read: (value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ""),
    show: (value) => (value.length ? value.join(",") : "nobody"),
  };
}

/** Where the platform's state lives: a PostgreSQL URL, or nothing for SQLite in the data directory. */
function databaseUrl(): ValueType<string> {
  return {
    arg: "<url>",
    accepts: "a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/micros",
    schema: z.union([
      z.literal(""),
      z
        .string()
        .max(4096)
        .refine((value) => isPostgresUrl(value) && URL.canParse(value)),
    ]),
    read: (value) => value,
    // Shown by --help, the start-up line and a refusal: never the password.
    show: (value) => (value ? redactUrl(value) : "sqlite"),
    quote: redactUrl,
  };
}

/** The cluster's secret: long enough not to be guessed, never shown (not by --help, not in a refusal). */
function clusterSecret(): ValueType<string> {
  return {
    arg: "<secret>",
    accepts: "a secret of 32 or more characters without spaces, the same on every node",
    schema: z.union([
      z.literal(""),
      z
        .string()
        .max(4096)
        .regex(/^\S{32,}$/),
    ]),
    read: (value) => value,
    show: (value) => (value ? "(hidden)" : "off"),
    quote: () => "(hidden)",
  };
}

/** An http:// URL with a host and port, nothing after them: where other nodes reach this one. */
function nodeAddress(): ValueType<string> {
  return {
    arg: "<url>",
    accepts: "an address other nodes reach this one at, such as http://10.0.0.5:4000",
    schema: z.union([
      z.literal(""),
      z
        .string()
        .max(512)
        .refine((value) => {
          if (!URL.canParse(value)) return false;
          const url = new URL(value);
          return (
            url.protocol === "http:" && url.hostname !== "" && url.pathname === "/" && !url.search && !url.username
          );
        }),
    ]),
    read: (value) => value.replace(/\/$/, ""),
    show: (value) => value || "http://<host>:<port>",
  };
}

export interface Setting<T> {
  /** The flag without `--`; also the setting's key in a config file. */
  readonly flag: string;
  /** Its environment variable: `MICROS_` and the flag in capitals, unless that name means something else. */
  readonly env: string;
  readonly type: ValueType<T>;
  readonly default: T;
  /** The default as `--help` and docs/cli.md show it: the same on every machine. */
  readonly defaultText: string;
  readonly help: string;
}

function setting<T>(
  flag: string,
  type: ValueType<T>,
  fallback: T,
  help: string,
  extra: { env?: string; defaultText?: string } = {},
): Setting<T> {
  return {
    flag,
    env: extra.env ?? `MICROS_${flag.toUpperCase().replaceAll("-", "_")}`,
    type,
    default: fallback,
    defaultText: extra.defaultText ?? type.show(fallback),
    help,
  };
}

const limitMb = (bounds: { min: number; max: number }) => megabytes(bounds.min, bounds.max);
const limitDuration = (bounds: { min: number; max: number }) => duration(bounds.min * SECOND, bounds.max * SECOND);

/**
 * The settings, in the order `micros server --help` lists them; the key is the setting's name in ServerConfig.
 * Each default is what the server uses when nothing sets it, with the reason beside it.
 */
export const SETTINGS = {
  port: setting("port", count(0, 65_535, "<port>"), 4000, "port to listen on; 0 picks a free one"),
  /** Loopback by default: exposing the platform is a choice the operator makes with --host. */
  host: setting(
    "host",
    text("<address>", "an address such as 127.0.0.1, 0.0.0.0 or ::"),
    "127.0.0.1",
    "address to listen on (0.0.0.0: every interface)",
    // MICROS_HOST already names the server a CLI talks to (`http://localhost:4000`).
    { env: "MICROS_LISTEN_HOST" },
  ),
  dataDir: setting(
    "data-dir",
    text("<dir>", "a folder's path"),
    ".micros-data",
    "where the database, releases and logs live",
  ),
  /** SQLite by default: one server needs no database server beside it. PostgreSQL is for a shared, managed store. */
  database: setting(
    "database",
    databaseUrl(),
    "",
    "keep the platform's state in PostgreSQL (postgres://...) instead of SQLite in --data-dir",
  ),
  /** Micros answer at <subdomain>.<domain>; `localhost` resolves to loopback in browsers and curl. */
  domain: setting(
    "domain",
    text("<domain>", "a host name such as localhost or micros.example.com", /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/),
    "localhost",
    "micros answer at <subdomain>.<domain>:<port>",
  ),
  /**
   * Nodes: servers on one PostgreSQL database that share this secret are one platform (docs/cluster.md). A flag
   * shows in `ps`: give it in the variable or the config file.
   */
  clusterSecret: setting(
    "cluster-secret",
    clusterSecret(),
    "",
    "join the other nodes on --database given this secret (32+ characters): any node then serves any micro",
  ),
  nodeAddress: setting(
    "node-address",
    nodeAddress(),
    "",
    "where the other nodes reach this one, such as http://10.0.0.5:4000 (needed when --host is 0.0.0.0 or ::)",
  ),
  /** As Deta did: an instance sleeps after a minute without requests. */
  idleTimeoutMs: setting(
    "idle-timeout",
    duration(100, 24 * HOUR),
    MINUTE,
    "stop an instance after this long without requests",
  ),
  /** Deta's limit: 10 s to answer. A micro may ask for more, up to the maximum. */
  requestTimeoutMs: setting(
    "request-timeout",
    limitDuration(LIMIT_BOUNDS.timeoutSeconds),
    10 * SECOND,
    "how long a micro may take to answer a request, unless it sets its own",
  ),
  /**
   * The most instances one micro runs at once: two per core, so CPU-bound micros can use every core and I/O-bound
   * ones have room, while a flood of requests to one micro cannot fill the machine with instances.
   */
  maxInstances: setting(
    "max-instances",
    count(1, 1000),
    availableParallelism() * 2,
    "most instances one micro runs at once; more start while each has --instance-concurrency requests in flight",
    { defaultText: "2 per CPU core" },
  ),
  /**
   * The Python interpreter for Python micros (and the one their virtual environments are made from). The
   * distribution's by default: the sandbox can see it, and apt manages its packages.
   */
  python: setting(
    "python",
    text("<path>", "the path or name of a Python interpreter"),
    existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3",
    "the Python interpreter for Python micros",
    { defaultText: "/usr/bin/python3, else python3 on the PATH" },
  ),
  /** `none` runs instances as plain processes: for development on machines without bubblewrap, never in production. */
  sandbox: setting(
    "sandbox",
    oneOf(["bubblewrap", "none"], "<kind>"),
    "bubblewrap",
    "bubblewrap, or none: no isolation, for development only",
  ),
  /** Custom domains' certificates and a wildcard one for the platform's domain come from files or from ACME. */
  tlsCert: setting(
    "tls-cert",
    optionalText("<file>", "a PEM certificate file's path"),
    "",
    "serve HTTPS on --https-port with this PEM certificate (chain), reloaded when the file changes",
  ),
  tlsKey: setting(
    "tls-key",
    optionalText("<file>", "a PEM private key file's path"),
    "",
    "the private key of --tls-cert, reloaded with it",
  ),
  /** HTTP stays on --port beside it: ACME's HTTP-01 challenges and plain-HTTP clients still reach the server. */
  httpsPort: setting(
    "https-port",
    count(0, 65_535, "<port>"),
    443,
    "port for HTTPS, when --tls-cert or --acme-email is given; 0 picks a free one",
  ),
  acmeEmail: setting(
    "acme-email",
    optionalText("<email>", "an email address for the ACME account"),
    "",
    "obtain and renew certificates for custom domains from an ACME CA (Let's Encrypt) with this account email",
  ),
  /** Let's Encrypt's production directory; its staging one (for trials, untrusted certificates) is documented. */
  acmeDirectory: setting(
    "acme-directory",
    text("<url>", "an https:// URL of an ACME directory", /^https:\/\/\S+$/),
    "https://acme-v02.api.letsencrypt.org/directory",
    "the ACME CA's directory URL; Let's Encrypt's staging CA, for trials: https://acme-staging-v02.api.letsencrypt.org/directory",
  ),
  /** Nobody by default: a client could otherwise claim any address with X-Forwarded-For. */
  trustProxy: setting(
    "trust-proxy",
    addressList(),
    [],
    "proxies whose X-Forwarded-For/-Proto and Forwarded headers name the client: IPs or CIDRs, comma-separated, or loopback",
  ),
  /** Sandboxes kept started per runtime, waiting for a micro's first request; each idle one costs ~20 MB. */
  warmPool: setting(
    "warm-pool",
    count(0, 16),
    2,
    "sandboxes kept started per runtime for first requests; 0 makes each on demand",
  ),
  logLevel: setting(
    "log-level",
    oneOf(["fatal", "error", "warn", "info", "debug"], "<level>"),
    "info",
    "server log level: fatal, error, warn, info or debug",
  ),

  /** Deta's and Lambda's per-instance promises: 512 MB of memory, 1024 processes and threads, 512 MB of /tmp. */
  memoryBytes: setting(
    "memory",
    limitMb(LIMIT_BOUNDS.memoryMb),
    512 * MB,
    "memory of each instance, unless its micro sets its own",
  ),
  /** One micro may not take more than this, whatever it asks for. */
  memoryBytesMax: setting(
    "max-memory",
    limitMb(LIMIT_BOUNDS.memoryMb),
    2048 * MB,
    "the most memory a micro may set for its instances",
  ),
  requestTimeoutMsMax: setting(
    "max-request-timeout",
    limitDuration(LIMIT_BOUNDS.timeoutSeconds),
    300 * SECOND,
    "the longest request timeout a micro may set for itself",
  ),
  /** Deta's limit: 5.5 MB of request body. */
  requestBodyBytes: setting(
    "request-body",
    limitMb(LIMIT_BOUNDS.requestBodyMb),
    5.5 * MB,
    "largest request body a micro takes, unless it sets its own",
  ),
  requestBodyBytesMax: setting(
    "max-request-body",
    limitMb(LIMIT_BOUNDS.requestBodyMb),
    100 * MB,
    "the largest request body limit a micro may set for itself",
  ),
  pidsLimit: setting("pids", count(16, 65_536), 1024, "processes and threads one instance may run"),
  tmpBytes: setting("tmp", megabytes(1, 1024 * 1024), 512 * MB, "size of each instance's /tmp"),
  /** cgroup v2 scale: every instance gets the same share, so a busy one cannot starve the rest or the gateway. */
  cpuWeight: setting("cpu-weight", count(1, 10_000), 100, "each instance's share of the CPU (a cgroup v2 weight)"),
  /**
   * Requests one instance takes at once before the micro starts another. A runner is single-threaded: an I/O-bound
   * handler (waiting on a database or an API) serves 8 at once with ease, and a second instance would cost a cold start
   * and its memory; a CPU-bound handler runs them one after the other, so 8 in flight means 7 waiting, which is where
   * starting another instance (on another core) pays off.
   */
  instanceConcurrency: setting(
    "instance-concurrency",
    count(1, 1000),
    8,
    "requests one instance takes at once before its micro starts another",
  ),
  /** Long enough for a large app's first import on a slow disk. */
  startTimeoutMs: setting(
    "start-timeout",
    duration(SECOND, 10 * MINUTE),
    30 * SECOND,
    "how long a new instance may take to be ready",
  ),
  /** How long a retired instance (after a deploy) may go on serving open requests and WebSockets before it is stopped. */
  drainTimeoutMs: setting(
    "drain-timeout",
    duration(SECOND, 24 * HOUR),
    MINUTE,
    "how long a replaced instance may finish its open requests and WebSockets",
  ),
  /** How long a stopping instance may finish in-flight requests after SIGTERM. */
  stopGraceMs: setting(
    "stop-grace",
    duration(100, 5 * MINUTE),
    5 * SECOND,
    "how long a stopping instance may finish in-flight requests",
  ),

  /** npm and bundling a large app fit in 2 GB; a build that needs more is more likely a runaway install script. */
  buildMemoryBytes: setting(
    "build-memory",
    megabytes(256, 1024 * 1024),
    2048 * MB,
    "memory of one build: unpacking, npm or pip, and the install scripts they run",
  ),
  buildPids: setting("build-pids", count(64, 65_536), 1024, "processes and threads of one build"),
  /** Half an instance's weight: a deploy yields the CPU to micros serving requests. */
  buildCpuWeight: setting("build-cpu-weight", count(1, 10_000), 50, "a build's share of the CPU (a cgroup v2 weight)"),
  /** A cold install of a large app with native packages can take minutes; a build past 15 is stuck. */
  buildTimeoutMs: setting("build-timeout", duration(10 * SECOND, 2 * HOUR), 15 * MINUTE, "how long one build may take"),
  /** Room for the upload, the unpacked code and its installed dependencies, each up to 250 MB. */
  buildDiskBytes: setting("build-disk", megabytes(256, 1024 * 1024), 1024 * MB, "scratch disk of one build"),
  buildCacheBytes: setting(
    "build-cache",
    megabytes(64, 1024 * 1024),
    2048 * MB,
    "each owner's npm and pip cache, shared by their builds",
  ),
  /** Deta's and Lambda's limit for code, compressed and unpacked alike. */
  maxUploadBytes: setting(
    "max-upload",
    megabytes(1, 10 * 1024),
    DEFAULT_CODE_LIMIT_BYTES,
    "largest code upload, compressed",
  ),
  maxCodeBytes: setting(
    "max-code",
    megabytes(1, 10 * 1024),
    DEFAULT_CODE_LIMIT_BYTES,
    "largest release: its unpacked code, and its installed dependencies apart",
  ),
  /** Releases kept for rollback, the current one included. */
  keepReleases: setting(
    "keep-releases",
    count(1, 100),
    5,
    "releases kept per micro for rollback, the current one included",
  ),
  /** Deta's allowance was 10 GB of Drive per account; here it is per project, files and unfinished uploads. */
  driveQuotaBytes: setting(
    "drive-quota",
    megabytes(1, 1024 * 1024 * 1024),
    10 * 1024 * MB,
    "what each project's drives may hold in all",
  ),
  /**
   * The metrics are the operator's (micros' names and traffic), so nothing serves them unless one of these is given
   * (docs/operations.md). A flag shows in `ps`: give the token in the variable or the config file.
   */
  metricsToken: setting(
    "metrics-token",
    offOr(text("<token>", "a token of 16 or more characters without spaces", /^\S{16,}$/)),
    "",
    "serve /metrics on the platform's host to requests with Authorization: Bearer <token>",
  ),
  metricsListen: setting(
    "metrics-listen",
    offOr(listenAddress()),
    "",
    "serve /metrics without auth on an address of its own, such as 127.0.0.1:9464 (port 0 picks a free one)",
  ),
};

export type SettingKey = keyof typeof SETTINGS;
export type ServerConfig = { readonly [K in SettingKey]: (typeof SETTINGS)[K]["default"] };

/** Each setting with its key in ServerConfig. */
export function settingList(): [SettingKey, Setting<unknown>][] {
  return Object.entries(SETTINGS) as [SettingKey, Setting<unknown>][];
}

/** The settings as one strict schema with their defaults, for a config built in code (tests, benchmarks). */
export const serverConfigSchema = z.strictObject(
  Object.fromEntries(settingList().map(([key, entry]) => [key, entry.type.schema.default(entry.default)])) as {
    [K in SettingKey]: z.ZodDefault<z.ZodType<ServerConfig[K]>>;
  },
);

export type ServerConfigInput = Partial<ServerConfig>;

/** Where the settings come from; the first that gives a setting wins: a flag, then a variable, then the file. */
export interface SettingSources {
  /** Values given as flags, as typed, by setting. */
  flags: { readonly [K in SettingKey]?: string };
  /** The environment, for `MICROS_*` variables and MICROS_CONFIG. */
  env: NodeJS.ProcessEnv;
  /** `--config <file>`; without it, MICROS_CONFIG. */
  configFile?: string;
  /** What relative paths are relative to. */
  cwd: string;
}

const FILE_EXAMPLE = '{"port": 4000, "data-dir": "/var/lib/micros", "build-memory": 4096}';

/** A value as the problem line quotes it: short, on one line. */
function quoted(value: string): string {
  const line = value.replace(/\s+/g, " ");
  return JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}...` : line);
}

function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "there is no such file";
  if (code === "EISDIR") return "it is a folder";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return (err as Error).message;
}

/** A config file's settings by key (the flag without `--`), as text; problems go to `problems`. */
async function readConfigFile(path: string, named: string, problems: string[]): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  let content: string;
  try {
    content = await readFile(path, "utf8");
  } catch (err) {
    problems.push(`${named} ${path} cannot be read: ${unreadable(err)}.`);
    return values;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (err) {
    problems.push(`${path} is not valid JSON: ${(err as Error).message}.`);
    return values;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`${path} must hold one JSON object of settings, such as ${FILE_EXAMPLE}.`);
    return values;
  }
  const known = new Map(settingList().map(([, entry]) => [entry.flag, entry]));
  for (const [key, value] of Object.entries(parsed)) {
    const entry = known.get(key);
    if (!entry) {
      problems.push(
        `${path} has an unknown setting ${quoted(key)}; its keys are the options of \`micros server\` without --, such as "port" or "data-dir".`,
      );
    } else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      values.set(key, String(value));
    } else {
      problems.push(`${key} in ${path} must be ${entry.type.accepts}; got ${JSON.stringify(value)}.`);
    }
  }
  return values;
}

/**
 * The server's settings from flags, `MICROS_*` variables and a config file, over the defaults. Every value that
 * is refused is one line naming the setting as it was written (`--sandbox`, `MICROS_SANDBOX`, `sandbox` in the
 * file) and what it accepts; all of them are reported at once.
 */
export async function loadServerConfig(sources: SettingSources): Promise<ServerConfig> {
  const problems: string[] = [];
  const env = (name: string) => (sources.env[name] === "" ? undefined : sources.env[name]);
  const fileNamed = sources.configFile !== undefined ? "--config" : "MICROS_CONFIG";
  const file = sources.configFile ?? env("MICROS_CONFIG");
  const path = file === undefined ? undefined : resolve(sources.cwd, file);
  const fromFile = path === undefined ? new Map<string, string>() : await readConfigFile(path, fileNamed, problems);

  const values: Record<string, unknown> = {};
  for (const [key, entry] of settingList()) {
    const flag = sources.flags[key];
    const variable = env(entry.env);
    const given =
      flag !== undefined
        ? { text: flag, name: `--${entry.flag}` }
        : variable !== undefined
          ? { text: variable, name: entry.env }
          : fromFile.has(entry.flag)
            ? { text: fromFile.get(entry.flag) as string, name: `${entry.flag} in ${path}` }
            : undefined;
    if (!given) {
      values[key] = entry.default;
      continue;
    }
    const checked = entry.type.schema.safeParse(entry.type.read(given.text.trim()));
    if (checked.success) values[key] = checked.data;
    else
      problems.push(
        `${given.name} must be ${entry.type.accepts}; got ${quoted((entry.type.quote ?? String)(given.text))}.`,
      );
  }
  if (problems.length > 0) {
    throw new MicrosError("ERR_INVALID_SETTING", problems.join("\n"), { details: { problems } });
  }
  return Object.freeze(values) as ServerConfig;
}
