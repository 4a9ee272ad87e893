import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextRun, parseSchedule } from "../../src/server/cron/expression.js";

const DAY = 86_400_000;

describe("cron schedules are bounded", () => {
  it("refuses a rate over a year, which once was stored and broke every listing", () => {
    for (const rate of ["99999999999 days", "366 days", "8761 hours", "525601 minutes"]) {
      assert.throws(() => parseSchedule(rate), /a rate is at most a year/, rate);
    }
  });

  it("takes a rate of up to a year, with a next run that is a date", () => {
    for (const rate of ["365 days", "8760 hours", "525600 minutes"]) {
      const schedule = parseSchedule(rate);
      const next = nextRun(schedule, Date.now(), null);
      assert.equal(next - Date.now() <= 365 * DAY, true);
      assert.doesNotThrow(() => new Date(next).toISOString());
    }
  });

  it("refuses a cron expression that never fires", () => {
    assert.throws(() => parseSchedule("0 0 30 2 *"), /it never fires/);
    assert.throws(() => parseSchedule("0 0 31 4 ? *"), /it never fires/);
    assert.doesNotThrow(() => parseSchedule("0 0 29 2 *"));
  });
});
