/**
 * The control API's wire shapes, shared by the server (which validates
 * requests against them) and the CLI (which reads responses through them).
 */
import { z } from "zod";
import type { DomainView } from "./domains.js";

/** The default limit for one upload of code, compressed or unpacked (Deta's and Lambda's). */
export const DEFAULT_CODE_LIMIT_BYTES = 250 * 1024 * 1024;

export const setCronBody = z.strictObject({ expression: z.string().min(1).max(200) });

export interface CronView {
  expression: string;
  nextRun: string;
  lastRun: string | null;
}

export const setVisorBody = z.strictObject({ enabled: z.boolean() });
/** An upload's options: `fresh` installs the dependencies from scratch (`micros deploy purge-dependencies`). */
export const deployQuery = z.strictObject({ fresh: z.enum(["true", "false", "1", "0"]).optional() });

export const listRequestsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(50) });

/** One request as the visor recorded it. Bodies are base64, present only when the micro's visor records them. */
export interface RequestView {
  id: number;
  time: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  instance: string | null;
  cold: boolean;
  /**
   * Where the time went, in ms: `firstByteMs` from the instance taking the request to its answer beginning; for a
   * cold start also `sandboxMs` (the sandbox made and its runner started), `codeMs` (the release put in place) and
   * `loadMs` (the app loaded until it was ready).
   */
  timings: { firstByteMs?: number; sandboxMs?: number; codeMs?: number; loadMs?: number } | null;
  /** The client's address, as the gateway resolved it through trusted proxies. */
  client: string | null;
  requestHeaders?: [string, string][] | null;
  requestBody?: string | null;
  responseBody?: string | null;
}

export const runBody = z.strictObject({
  action: z.string().max(200).default(""),
  args: z.record(z.string(), z.unknown()).default({}),
});

/** In an incremental upload: the release it builds on and the files to drop from it. */
export const CHANGES_FILE = ".micros-changes.json";

/** Names become DNS labels (a micro's subdomain), so they follow a label's rules. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_RULE = "1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit";

export const nameSchema = z.string().regex(NAME_PATTERN, { message: `must be ${NAME_RULE}` });

export const createProjectBody = z.strictObject({ name: nameSchema });
export const createMicroBody = z.strictObject({
  name: nameSchema,
  project: nameSchema.default("default"),
  runtime: z.string().min(1).max(50),
});
export const createUserBody = z.strictObject({ name: nameSchema, admin: z.boolean().default(false) });
/** `expires`: see `expiryTime` (shared/token-expiry.ts); absent, the token never expires. */
export const createTokenBody = z.strictObject({ name: nameSchema, expires: z.string().min(1).max(40).optional() });

/** A user as an admin sees them in `micros users list`. */
export interface UserListView extends UserView {
  createdAt: string;
}

/** A node of a cluster (several servers on one database), as `micros nodes` shows it. */
export interface NodeView {
  id: string;
  address: string;
  capacity: number;
  /** Whether it heartbeated within the last few seconds: only live nodes take micros. */
  live: boolean;
  /** Whether it is the node that answered. */
  self: boolean;
  startedAt: string;
  heartbeatAt: string;
}

/** An access token as its owner sees it; the token itself is shown only when it is made. */
export interface TokenView {
  name: string;
  prefix: string;
  createdAt: string;
  /** To the minute: use is noted at most once a minute. */
  lastUsedAt: string | null;
  expiresAt: string | null;
  expired: boolean;
}
/**
 * The whole `MICROS_` prefix is the platform's: it sets some of these names in every instance
 * (`instances/environment.ts`) and may set more later, and an app that had set one would then change meaning
 * without a word. No app written for Deta uses the prefix, so reserving all of it costs them nothing.
 */
export const RESERVED_ENV_PREFIX = "MICROS_";
/**
 * Deta's names that the platform sets in every instance, as Deta did. Only these: the other `DETA_` names are the
 * app's (`DETA_BASE_HOST`, `DETA_DRIVE_HOST`, `DETA_BASE_NAME`, ...), as they were on Deta.
 */
export const RESERVED_DETA_ENV = ["DETA_PROJECT_KEY", "DETA_PATH", "DETA_RUNTIME"] as const;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a variable name is refused, or undefined when it is fine. */
export function envKeyProblem(key: string): string | undefined {
  if (!ENV_KEY.test(key) || key.length > 256)
    return "must be letters, digits and underscores, not starting with a digit";
  const upper = key.toUpperCase();
  if (upper.startsWith(RESERVED_ENV_PREFIX)) {
    return `is reserved: names starting with ${RESERVED_ENV_PREFIX} are kept for the platform, which sets some in every instance and may set more`;
  }
  if ((RESERVED_DETA_ENV as readonly string[]).includes(upper)) {
    return `is reserved: the platform sets ${upper} in every instance, as Deta did (other DETA_ names are yours to set)`;
  }
  return undefined;
}

export const replaceEnvBody = z.strictObject({
  vars: z.record(z.string(), z.string().max(64 * 1024)).superRefine((vars, check) => {
    const keys = Object.keys(vars);
    if (keys.length > 500) check.addIssue({ code: "custom", message: "may hold at most 500 variables" });
    for (const key of keys) {
      const problem = envKeyProblem(key);
      if (problem) check.addIssue({ code: "custom", path: [key], message: problem });
    }
  }),
});

/** A new name (its subdomain stays: links keep working) and/or runtime for a micro. */
export const updateMicroBody = z.strictObject({
  name: nameSchema.optional(),
  runtime: z.string().min(1).max(50).optional(),
});

/**
 * The widest a micro's limits can ever be, whatever the server: a server's own defaults and maxima (its settings)
 * are bounded by the same numbers, and within these each server refuses what is over its own maximum.
 */
export const LIMIT_BOUNDS = {
  /** Below 32 MB not even the runner starts. */
  memoryMb: { min: 32, max: 1024 * 1024 },
  /** Under a second every request of a cold instance would time out. */
  timeoutSeconds: { min: 1, max: 24 * 60 * 60 },
  requestBodyMb: { min: 0.001, max: 10 * 1024 },
} as const;

const bounded = (bounds: { min: number; max: number }) => z.number().min(bounds.min).max(bounds.max);

/** New limits for a micro: a number sets one, null goes back to the server's default, absent leaves it. */
export const updateLimitsBody = z.strictObject({
  memoryMb: bounded(LIMIT_BOUNDS.memoryMb).int().nullable().optional(),
  timeoutSeconds: bounded(LIMIT_BOUNDS.timeoutSeconds).nullable().optional(),
  requestBodyMb: bounded(LIMIT_BOUNDS.requestBodyMb).nullable().optional(),
});

export interface LimitsView {
  memoryMb: number;
  timeoutSeconds: number;
  requestBodyMb: number;
}

/** A release by version (`3`, `v3`) or id; without one, the release before the current one. */
export const rollbackBody = z.strictObject({ release: z.string().min(1).max(100).optional() });

export const setAuthBody = z.strictObject({ enabled: z.boolean() });
export const createApiKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(500).default(""),
});

export interface ApiKeyView {
  name: string;
  description: string;
  prefix: string;
  createdAt: string;
}

export const listMicrosQuery = z.strictObject({ project: nameSchema.optional(), name: nameSchema.optional() });
export const logsQuery = z.strictObject({
  since: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  follow: z.enum(["true", "false", "1", "0"]).optional(),
});

export interface UserView {
  id: string;
  name: string;
  isAdmin: boolean;
}

export interface ProjectView {
  id: string;
  name: string;
  createdAt: string;
}

export interface ReleaseView {
  id: string;
  version: number;
  createdAt: string;
  codeBytes: number;
  fileCount: number;
  install: string;
  current: boolean;
}

export interface InstanceView {
  id: string;
  state: string;
  release: string;
  startedAt: string;
  inFlight: number;
}

export interface MicroView {
  id: string;
  name: string;
  project: string;
  runtime: string;
  subdomain: string;
  endpoint: string;
  /** Custom domains the micro also answers at (`micros domains`). */
  domains: DomainView[];
  httpAuth: boolean;
  /** How the server isolates instances: `bubblewrap`, or `process` (none) when started with --sandbox none. */
  sandbox: string;
  /** The limits its instances run with: its own where it chose, else the server's defaults. */
  limits: LimitsView;
  release: ReleaseView | null;
  envVars: string[];
  instances: InstanceView[];
  /** Whether the visor records request and response bodies (every request's summary is always recorded). */
  visor: boolean;
  /** The micro's schedule, when it has one. */
  cron: CronView | null;
  /** Set while the micro's instances keep failing to start. */
  startFailures: { count: number; lastError: string; retryAt: string } | null;
  createdAt: string;
}

export interface LogView {
  id: number;
  time: string;
  source: "stdout" | "stderr" | "platform";
  instance: string | null;
  message: string;
}

/**
 * What a deploy reports as it goes, one JSON object per line, when asked for
 * `application/x-ndjson`: the upload arrived, dependencies are being
 * installed (with the tool's output as it comes), then the result.
 */
export type DeployEvent =
  | { event: "received"; bytes: number }
  | { event: "installing" }
  | { event: "output"; text: string }
  | { event: "live"; result: DeployView }
  | { event: "failed"; error: { code: string; message: string; details?: Record<string, unknown> } };

export interface DeployView {
  micro: MicroView;
  release: ReleaseView;
  installOutput: string;
}

/** A project's key: what its micros get as DETA_PROJECT_KEY, and what the Base and Drive services take. */
export interface ProjectKeyView {
  project: ProjectView;
  key: string;
}

/** A base of a project, with the items it holds now. */
export interface BaseView {
  name: string;
  items: number;
  createdAt: string;
}

/** A drive of a project, with its files and their bytes. */
export interface DriveView {
  name: string;
  files: number;
  bytes: number;
  createdAt: string;
}

/** Sets some of a micro's variables and removes others, leaving the rest (whose values the caller cannot read). */
export const patchEnvBody = z
  .strictObject({
    set: replaceEnvBody.shape.vars.default({}),
    remove: z.array(z.string().min(1).max(256)).max(500).default([]),
  })
  .refine((body) => !body.remove.some((key) => Object.hasOwn(body.set, key)), {
    message: "a name cannot be both set and removed",
  });

/** The dashboard's session: who signed in, and the CSRF token its state-changing calls carry (null with Bearer). */
export interface SessionView {
  user: UserView;
  csrfToken: string | null;
}

export const requestSummaryQuery = z.strictObject({
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
});

/** Each of the caller's micros that served requests in the window: how many, and how many were 5xx errors. */
export interface RequestSummaryView {
  since: string;
  micros: Record<string, { requests: number; errors: number }>;
}
