import { MicrosError } from "../shared/errors.js";
import { formatBytes } from "../shared/format.js";
import type { ServerConfig } from "./config.js";

/** The limits a micro can change for itself, each up to the server's maximum. */
export interface MicroLimits {
  memoryBytes: number;
  timeoutMs: number;
  requestBodyBytes: number;
}

/** A micro's own choices; null means the server's default. */
export type LimitOverrides = { [K in keyof MicroLimits]: number | null };

export const NO_OVERRIDES: LimitOverrides = { memoryBytes: null, timeoutMs: null, requestBodyBytes: null };

const DESCRIBE: Record<keyof MicroLimits, { name: string; format: (value: number) => string; flag: string }> = {
  memoryBytes: { name: "memory", format: formatBytes, flag: "--memory <MB>" },
  timeoutMs: { name: "request timeout", format: (ms) => `${ms / 1000} s`, flag: "--timeout <seconds>" },
  requestBodyBytes: { name: "request body limit", format: formatBytes, flag: "--max-body <MB>" },
};

/** Server defaults and maxima for per-micro limits: one place decides what a micro gets. */
export class LimitPolicy {
  readonly defaults: MicroLimits;
  readonly maxima: MicroLimits;

  constructor(config: ServerConfig) {
    this.defaults = {
      memoryBytes: config.memoryBytes,
      timeoutMs: config.requestTimeoutMs,
      requestBodyBytes: config.requestBodyBytes,
    };
    this.maxima = {
      memoryBytes: Math.max(config.memoryBytesMax, config.memoryBytes),
      timeoutMs: Math.max(config.requestTimeoutMsMax, config.requestTimeoutMs),
      requestBodyBytes: Math.max(config.requestBodyBytesMax, config.requestBodyBytes),
    };
  }

  /** What a micro runs with: its own choice where it made one (never above today's maximum), else the default. */
  effective(overrides: LimitOverrides): MicroLimits {
    const pick = (key: keyof MicroLimits) => Math.min(overrides[key] ?? this.defaults[key], this.maxima[key]);
    return {
      memoryBytes: pick("memoryBytes"),
      timeoutMs: pick("timeoutMs"),
      requestBodyBytes: pick("requestBodyBytes"),
    };
  }

  /** Refuses requested values over the server's maxima, naming each. */
  check(requested: Partial<LimitOverrides>): void {
    const problems: string[] = [];
    for (const key of Object.keys(DESCRIBE) as (keyof MicroLimits)[]) {
      const value = requested[key];
      if (value != null && value > this.maxima[key]) {
        const { name, format } = DESCRIBE[key];
        problems.push(`${name} ${format(value)} is over this server's maximum of ${format(this.maxima[key])}`);
      }
    }
    if (problems.length > 0) {
      throw new MicrosError("ERR_VALIDATION", `Invalid limits: ${problems.join("; ")}.`, { details: { problems } });
    }
  }

  /** How to raise a limit, for the message that tells a user they hit it. */
  hint(key: keyof MicroLimits): string {
    const { flag, format } = DESCRIBE[key];
    return `raise it with \`micros update ${flag}\` (up to ${format(this.maxima[key])} on this server)`;
  }
}
