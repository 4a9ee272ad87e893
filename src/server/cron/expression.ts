import { Cron } from "croner";
import { MicrosError } from "../../shared/errors.js";

/** A micro's schedule: a rate (`5 minutes`) or a cron expression, always in UTC. */
export type Schedule =
  | { kind: "rate"; expression: string; everyMs: number }
  | { kind: "cron"; expression: string; pattern: string };

const UNITS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** The longest rate: a year, so every next run is a date well within what a Date holds. */
const MAX_RATE_MS = 365 * 86_400_000;
const FIELD_MAX = [59, 23, 31, 12, 7];

function invalid(expression: string, why: string): MicrosError {
  return new MicrosError(
    "ERR_VALIDATION",
    `"${expression}" is not a schedule: ${why}. Use a rate such as "5 minutes" or "1 hour", or a cron expression such as "0 8 * * 1-5" (UTC).`,
  );
}

/**
 * AWS's day-of-week numbers (1-7 from Sunday) as standard cron's (0-6 from Sunday). Only days move: the `3` of
 * `6#3` (the third Friday) counts occurrences and the `2` of `1-7/2` is a step, so a number after `#` or `/`
 * stays. `L` alone is the last day of the week, Saturday; `6L` (the last Friday) keeps its `L`.
 */
function awsDaysOfWeek(value: string): string {
  if (value === "L") return "6";
  return value.replace(/(^|[^#/\d])(\d+)/g, (_all, before: string, day: string) => `${before}${(Number(day) + 6) % 7}`);
}

/**
 * AWS's 6-field form, which Deta used (minutes hours day-of-month month
 * day-of-week year, `?` for "any", days of the week 1-7 from Sunday), as
 * standard 5-field cron.
 */
function fromAws(fields: string[], expression: string): string[] {
  if (fields[5] !== "*") throw invalid(expression, "only * is supported in the year field");
  return fields.slice(0, 5).map((field, index) => {
    let value = field === "?" ? "*" : field;
    // `a/b` (start at a, every b) is `a-max/b` in standard cron.
    value = value.replace(
      /^(\d+)\/(\d+)$/,
      (_all, start: string, step: string) => `${start}-${FIELD_MAX[index]}/${step}`,
    );
    return index === 4 ? awsDaysOfWeek(value) : value;
  });
}

export function parseSchedule(text: string): Schedule {
  const expression = text.trim().replace(/\s+/g, " ");
  const fields = expression.split(" ");
  if (fields.length === 2) {
    const [count, unit] = fields as [string, string];
    const every = UNITS[unit.replace(/s$/, "")];
    if (!/^[1-9]\d*$/.test(count) || every === undefined) {
      throw invalid(expression, "a rate is a whole number and minute(s), hour(s) or day(s)");
    }
    const everyMs = Number(count) * every;
    if (everyMs > MAX_RATE_MS) {
      throw invalid(expression, "a rate is at most a year (365 days, 8760 hours or 525600 minutes)");
    }
    return { kind: "rate", expression, everyMs };
  }
  if (fields.length !== 5 && fields.length !== 6) {
    throw invalid(expression, `it has ${fields.length} fields; a rate has 2, a cron expression 5 (or AWS's 6)`);
  }
  const pattern = (fields.length === 6 ? fromAws(fields, expression) : fields).join(" ");
  let next: Date | null;
  try {
    next = new Cron(pattern, { timezone: "UTC", paused: true }).nextRun();
  } catch (err) {
    throw invalid(expression, (err as Error).message.replace(/^CronPattern: /, ""));
  }
  // A day that never comes (`0 0 30 2 *`): refused now rather than stored with no next run.
  if (!next) throw invalid(expression, "it never fires: no date matches it");
  return { kind: "cron", expression, pattern };
}

/** When a schedule fires next, strictly after `after`. Rates count from the last run, or from `after`. */
export function nextRun(schedule: Schedule, after: number, lastRun: number | null): number {
  if (schedule.kind === "rate") {
    const next = (lastRun ?? after) + schedule.everyMs;
    return next > after ? next : after + schedule.everyMs;
  }
  const next = new Cron(schedule.pattern, { timezone: "UTC", paused: true }).nextRun(new Date(after));
  if (!next) throw new MicrosError("ERR_VALIDATION", `"${schedule.expression}" never fires again.`);
  return next.getTime();
}
