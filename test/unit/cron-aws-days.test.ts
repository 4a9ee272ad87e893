/**
 * AWS's day-of-week field, as Deta documented it (1-7 from Sunday, `#` for the nth weekday of the month, `L` for
 * the last), on concrete dates. January 2026 starts on a Thursday: its Fridays are the 2nd, 9th, 16th, 23rd, 30th.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextRun, parseSchedule } from "../../src/server/cron/expression.js";

const at = (iso: string) => Date.parse(iso);

/** The next `count` runs after `from`, as ISO dates. */
function runs(expression: string, from: string, count: number): string[] {
  const schedule = parseSchedule(expression);
  const out: string[] = [];
  let after = at(from);
  for (let i = 0; i < count; i++) {
    after = nextRun(schedule, after, null);
    out.push(new Date(after).toISOString().slice(0, 16));
  }
  return out;
}

describe("AWS cron: the day-of-week field", () => {
  it("`6#3` runs on the third Friday of the month, not the second", () => {
    assert.deepEqual(runs("0 12 ? * 6#3 *", "2026-01-01T00:00:00Z", 3), [
      "2026-01-16T12:00",
      "2026-02-20T12:00",
      "2026-03-20T12:00",
    ]);
  });

  it("`FRI#3` (a named day) is the third Friday too", () => {
    assert.deepEqual(runs("30 9 ? * FRI#3 *", "2026-01-01T00:00:00Z", 2), ["2026-01-16T09:30", "2026-02-20T09:30"]);
  });

  it("`2#1` is the first Monday, `1#5` the fifth Sunday when a month has one", () => {
    assert.deepEqual(runs("0 8 ? * 2#1 *", "2026-01-01T00:00:00Z", 2), ["2026-01-05T08:00", "2026-02-02T08:00"]);
    // Sundays of 2026 with a fifth: March (1, 8, 15, 22, 29) and May (3, ..., 31).
    assert.deepEqual(runs("0 8 ? * 1#5 *", "2026-01-01T00:00:00Z", 2), ["2026-03-29T08:00", "2026-05-31T08:00"]);
  });

  it("`6L` is the last Friday of the month and `L` alone is Saturday", () => {
    assert.deepEqual(runs("0 12 ? * 6L *", "2026-01-01T00:00:00Z", 2), ["2026-01-30T12:00", "2026-02-27T12:00"]);
    assert.deepEqual(runs("0 12 ? * L *", "2026-01-01T00:00:00Z", 2), ["2026-01-03T12:00", "2026-01-10T12:00"]);
  });

  it("a step counts days, it is not itself a day: `1/2` is Sunday, Tuesday, Thursday, Saturday", () => {
    assert.deepEqual(runs("0 12 ? * 1/2 *", "2026-01-01T00:00:00Z", 4), [
      "2026-01-01T12:00", // Thursday
      "2026-01-03T12:00", // Saturday
      "2026-01-04T12:00", // Sunday
      "2026-01-06T12:00", // Tuesday
    ]);
  });

  it("ranges and lists still move by one: `2-6` is Monday to Friday, `1,7` the weekend", () => {
    assert.deepEqual(runs("0 12 ? * 2-6 *", "2026-01-02T13:00:00Z", 2), ["2026-01-05T12:00", "2026-01-06T12:00"]);
    assert.deepEqual(runs("0 12 ? * 1,7 *", "2026-01-01T00:00:00Z", 2), ["2026-01-03T12:00", "2026-01-04T12:00"]);
  });

  it("the standard 5-field form keeps its own numbering (0-6 from Sunday): `5#3` is the third Friday", () => {
    assert.deepEqual(runs("0 12 * * 5#3", "2026-01-01T00:00:00Z", 1), ["2026-01-16T12:00"]);
  });
});
