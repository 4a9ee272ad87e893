import type { ChildProcess } from "node:child_process";
import { basename, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { BUILD_ERROR_CODES, type BuildJob } from "../../../runtimes/build/protocol.mjs";
import { MicrosError } from "../../shared/errors.js";
import { formatBytes } from "../../shared/format.js";
import type { Installed, Unpacked } from "./builds.js";

/**
 * The compiled builder as shipped: beside this module in dist/, or in dist/ when this module runs from its
 * source (tests), since the builder runs on plain Node, never through a TypeScript loader.
 */
const above = fileURLToPath(new URL("../../../", import.meta.url));
export const BUILDER_DIR = join(above, basename(above) === "dist" ? "" : "dist", "runtimes", "build");
export const BUILDER_FILE = "builder.mjs";

const OUTPUT_CAP = 256 * 1024;
const RESULT_CAP = 64 * 1024;

// The builder shares its sandbox with packages' install scripts: its answer is parsed like any input.
const resultSchema = z.union([
  z.strictObject({
    ok: z.literal(true),
    uploaded: z.number().int().min(0).optional(),
    base: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .nullable()
      .optional(),
    installed: z.enum(["npm ci", "npm install", "pip install", "none"]).optional(),
  }),
  z.strictObject({
    ok: z.literal(false),
    code: z.enum(BUILD_ERROR_CODES),
    message: z.string().max(2000),
    details: z.record(z.string().max(64), z.union([z.string().max(500), z.number()])).optional(),
  }),
]);

export type StepResult = z.output<typeof resultSchema>;

/** How a builder step ended, before anyone decides what it means. */
export interface StepEnd {
  result: StepResult | undefined;
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  aborted: boolean;
}

/**
 * Feeds a started builder its job, collects its output (tail-capped) and its
 * answer (size-capped), and ends it when its time is up or the deploy is
 * cancelled. `kill` must end every process of the step.
 */
export function runBuilder(
  child: ChildProcess,
  job: BuildJob,
  options: { timeLeftMs: number; signal: AbortSignal; kill: () => void; onOutput?: (text: string) => void },
): Promise<StepEnd> {
  return new Promise((resolve) => {
    let output = "";
    const collect = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      options.onOutput?.(text);
      output += text;
      if (output.length > OUTPUT_CAP * 2) output = output.slice(-OUTPUT_CAP);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    let answer = "";
    const resultPipe = child.stdio[3] as Readable | null;
    resultPipe?.on("data", (chunk: Buffer) => {
      if (answer.length <= RESULT_CAP) answer += chunk.toString("utf8");
    });
    for (const stream of child.stdio) stream?.on("error", () => {});
    (child.stdin as Writable | null)?.end(JSON.stringify(job));

    let timedOut = false;
    let aborted = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        options.kill();
      },
      Math.max(0, options.timeLeftMs),
    );
    const onAbort = () => {
      aborted = true;
      options.kill();
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
    child.once("close", (exitCode) => {
      clearTimeout(timer);
      options.signal.removeEventListener("abort", onAbort);
      resolve({ result: parseResult(answer), exitCode, output: output.slice(-OUTPUT_CAP), timedOut, aborted });
    });
  });
}

function parseResult(answer: string): StepResult | undefined {
  if (answer.length > RESULT_CAP) return undefined;
  try {
    const parsed = resultSchema.safeParse(JSON.parse(answer.trim()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A limit a step ran into, as the sandbox saw it. */
export interface LimitHit {
  limit: "memory" | "processes" | "disk" | "time";
  /** The limit's value, in the unit the message names. */
  value: number;
  message: string;
}

export function limitError(hit: LimitHit): MicrosError {
  return new MicrosError(
    "ERR_BUILD_LIMIT",
    `The build was stopped: ${hit.message}. The previous release keeps serving. Trim what the install does, or ask the operator to raise the limit.`,
    { details: { limit: hit.limit, value: hit.value } },
  );
}

export function timeLimit(timeoutMs: number): LimitHit {
  const minutes = timeoutMs / 60_000;
  const shown = minutes >= 1 ? `${Math.round(minutes * 10) / 10} min` : `${Math.round(timeoutMs / 1000)} s`;
  return { limit: "time", value: timeoutMs, message: `it took longer than its ${shown} limit` };
}

export function memoryLimit(bytes: number): LimitHit {
  return { limit: "memory", value: bytes, message: `it ran out of memory (the limit is ${formatBytes(bytes)})` };
}

export function processLimit(pids: number): LimitHit {
  return { limit: "processes", value: pids, message: `it reached its limit of ${pids} processes and threads` };
}

export function diskLimit(bytes: number, what: string): LimitHit {
  return { limit: "disk", value: bytes, message: `it filled ${what} (${formatBytes(bytes)})` };
}

const cancelled = () =>
  new MicrosError(
    "ERR_SHUTTING_DOWN",
    "The server is stopping, so the deploy was cancelled. Deploy again once it is back.",
  );

/**
 * What a finished step means: its answer when it gave a good one, else the limit it hit (asked of
 * `diagnose` only when it failed), else a failure with its output.
 */
export async function stepOutcome(
  step: BuildJob["step"],
  end: StepEnd,
  timeoutMs: number,
  diagnose: () => Promise<LimitHit | undefined>,
): Promise<StepResult & { ok: true }> {
  if (end.aborted) throw cancelled();
  if (end.timedOut) throw limitError(timeLimit(timeoutMs));
  if (end.result?.ok && end.exitCode === 0) return end.result;
  const hit = await diagnose();
  if (hit) throw limitError(hit);
  if (end.result && !end.result.ok) {
    const details = step === "install" ? { ...end.result.details, output: end.output } : end.result.details;
    throw new MicrosError(end.result.code, end.result.message, { details });
  }
  if (step === "unpack") {
    throw new MicrosError(
      "ERR_BAD_ARCHIVE",
      `The archive could not be unpacked (the unpacking ended with exit code ${end.exitCode}). Nothing was deployed.`,
    );
  }
  throw new MicrosError(
    "ERR_DEPENDENCY_INSTALL_FAILED",
    `Installing dependencies failed: the build ended without an answer (exit code ${end.exitCode}). Its output is below.`,
    { details: { output: end.output } },
  );
}

export function unpacked(result: StepResult & { ok: true }): Unpacked {
  return { uploaded: result.uploaded ?? 0, base: result.base ?? null };
}

export function installed(result: StepResult & { ok: true }, output: string): Installed {
  return { kind: result.installed ?? "none", output };
}
