import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicrosError } from "../../src/shared/errors.js";
import { expiryTime } from "../../src/shared/token-expiry.js";

const NOW = Date.parse("2026-12-01T12:00:00Z");

function refusal(text: string): string {
  try {
    expiryTime(text, NOW);
  } catch (err) {
    assert.ok(err instanceof MicrosError, String(err));
    assert.equal(err.code, "ERR_VALIDATION");
    return err.message;
  }
  assert.fail(`${text} was accepted`);
}

describe("--expires", () => {
  it("takes a duration from now in seconds, minutes, hours or days", () => {
    assert.equal(expiryTime("2s", NOW), NOW + 2000);
    assert.equal(expiryTime("90m", NOW), NOW + 90 * 60_000);
    assert.equal(expiryTime("12h", NOW), NOW + 12 * 3_600_000);
    assert.equal(expiryTime(" 30d ", NOW), NOW + 30 * 86_400_000);
  });

  it("takes a day (its midnight in UTC) or a time with its offset", () => {
    assert.equal(expiryTime("2027-01-01", NOW), Date.parse("2027-01-01T00:00:00Z"));
    assert.equal(expiryTime("2027-01-01T12:30:00Z", NOW), Date.parse("2027-01-01T12:30:00Z"));
    assert.equal(expiryTime("2027-01-01T12:30+02:00", NOW), Date.parse("2027-01-01T10:30:00Z"));
  });

  it("refuses what is not a duration or a date, naming what it takes", () => {
    for (const text of ["30", "soon", "30 days", "-5d", "2027/01/01", "2027-01-01T12:00", "1y", ""]) {
      assert.match(refusal(text), /a duration from now \(45s, 90m, 12h, 30d\) or a date/, text);
    }
  });

  it("refuses a day that does not exist rather than rolling it over", () => {
    assert.match(refusal("2027-02-30"), /no real date/);
    assert.match(refusal("2027-13-01"), /no real date/);
    assert.equal(expiryTime("2028-02-29", NOW), Date.parse("2028-02-29T00:00:00Z"));
  });

  it("refuses a time past or under a second away, and one over ten years away", () => {
    assert.match(refusal("2020-01-01"), /at least a second from now; 2020-01-01 is past/);
    assert.match(refusal("500ms"), /at least a second from now; 500ms is sooner/);
    assert.match(refusal("3651d"), /at most 3650 days/);
    assert.equal(expiryTime("3650d", NOW), NOW + 3650 * 86_400_000);
  });
});
