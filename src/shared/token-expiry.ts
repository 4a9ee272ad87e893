import { parseDuration } from "./duration.js";
import { MicrosError } from "./errors.js";

const DAY_MS = 86_400_000;
/** A token that lives for less than a second could not be used once; one past ten years is one that never expires. */
export const EXPIRY_BOUNDS = { minMs: 1000, maxMs: 3650 * DAY_MS } as const;

export const EXPIRY_RULE =
  "a duration from now (45s, 90m, 12h, 30d) or a date (2027-01-01, midnight UTC) or time (2027-01-01T12:00:00Z)";

/** A day alone means its midnight in UTC; a time must say its offset, so no server's local zone decides it. */
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * When a token written as `--expires` stops working, in ms since the epoch: a duration counts from `now` (the
 * server's clock decides, so a client's skewed clock cannot). Anything else, a time in the past included, is
 * ERR_VALIDATION naming what is accepted.
 */
export function expiryTime(text: string, now: number): number {
  const written = text.trim();
  const after = parseDuration(written);
  let at: number;
  if (after !== undefined) at = now + after;
  else if (DATE.test(written) || TIME.test(written)) at = Date.parse(written);
  else throw new MicrosError("ERR_VALIDATION", `expires must be ${EXPIRY_RULE}; got ${JSON.stringify(text)}.`);
  // Date.parse takes 2027-02-30 as 2 March: a day that does not come back as written is no real day.
  const day = /^\d{4}-\d{2}-\d{2}/.exec(written)?.[0];
  if (Number.isNaN(at) || (day !== undefined && new Date(Date.parse(day)).toISOString().slice(0, 10) !== day)) {
    throw new MicrosError("ERR_VALIDATION", `expires names no real date: ${written}.`);
  }
  if (at - now < EXPIRY_BOUNDS.minMs) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `expires must be at least a second from now; ${written} is ${at <= now ? "past" : "sooner"}.`,
    );
  }
  if (at - now > EXPIRY_BOUNDS.maxMs) {
    throw new MicrosError(
      "ERR_VALIDATION",
      `expires may be at most 3650 days (ten years) from now; ${written} is further. Leave --expires out for a token that never expires.`,
    );
  }
  return at;
}
