import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextRun, parseSchedule } from "../../src/server/cron/expression.js";

const at = (iso: string) => Date.parse(iso);

describe("cron schedules", () => {
  it("reads rates, Deta's way", () => {
    assert.deepEqual(parseSchedule("5 minutes"), { kind: "rate", expression: "5 minutes", everyMs: 300_000 });
    assert.deepEqual(parseSchedule("1 hour"), { kind: "rate", expression: "1 hour", everyMs: 3_600_000 });
    assert.equal(nextRun(parseSchedule("2 days"), at("2026-11-23T07:00:00Z"), null), at("2026-11-25T07:00:00Z"));
    assert.equal(
      nextRun(parseSchedule("5 minutes"), at("2026-11-23T07:00:00Z"), at("2026-11-23T06:58:00Z")),
      at("2026-11-23T07:03:00Z"),
    );
  });

  it("reads standard 5-field cron and AWS's 6-field form, in UTC", () => {
    const weekday = parseSchedule("*/15 8-17 * * 1-5");
    assert.equal(
      nextRun(weekday, at("2026-11-21T12:00:00Z"), null),
      at("2026-11-23T08:00:00Z"),
      "Saturday → Monday 08:00",
    );
    // AWS: every 5 minutes from minute 0, 8-17h, Monday to Friday (2-6 from Sunday = 1).
    const aws = parseSchedule("0/5 8-17 ? * 2-6 *");
    assert.equal(aws.kind === "cron" && aws.pattern, "0-59/5 8-17 * * 1-5");
    assert.equal(nextRun(aws, at("2026-11-21T12:00:00Z"), null), at("2026-11-23T08:00:00Z"));
    const named = parseSchedule("0 12 ? * MON-FRI *");
    assert.equal(nextRun(named, at("2026-11-23T12:30:00Z"), null), at("2026-11-24T12:00:00Z"));
  });

  const invalid: [string, RegExp][] = [
    ["5 seconds", /a rate is a whole number and minute\(s\), hour\(s\) or day\(s\)/],
    ["0 minutes", /a rate is a whole number/],
    ["* * *", /it has 3 fields/],
    ["61 * * * *", /is not a schedule/],
    ["0 12 * * ? 2027", /only \* is supported in the year field/],
  ];
  for (const [expression, why] of invalid) {
    it(`refuses "${expression}" with the reason`, () => {
      assert.throws(() => parseSchedule(expression), why);
    });
  }
});
