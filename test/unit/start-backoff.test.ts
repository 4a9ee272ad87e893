import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StartBackoff } from "../../src/server/instances/start-backoff.js";
import { MicrosError } from "../../src/shared/errors.js";

describe("start backoff for an app that keeps dying at start", () => {
  const crash = new MicrosError("ERR_APP_CRASHED", "The micro's process exited with code 1 before it was ready.");

  it("retries at once after one failure, then waits 1 s, 2 s, 4 s... up to a minute", () => {
    let now = 1_000_000;
    const backoff = new StartBackoff(() => now);
    backoff.failed("m", crash);
    assert.doesNotThrow(() => backoff.check("m"), "a single failure may be a fluke");
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      backoff.failed("m", crash);
      delays.push((backoff.get("m")?.retryAt ?? 0) - now);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    now += 59_999;
    assert.throws(() => backoff.check("m"), /failed to start 10 times in a row/);
    now += 1;
    assert.doesNotThrow(() => backoff.check("m"));
  });

  it("answers with the last error's code and message while waiting", () => {
    const backoff = new StartBackoff(() => 0);
    backoff.failed("m", crash);
    backoff.failed("m", crash);
    assert.throws(
      () => backoff.check("m"),
      (err: unknown) =>
        err instanceof MicrosError &&
        err.code === "ERR_APP_CRASHED" &&
        err.message.startsWith(crash.message) &&
        err.message.includes("next try after 1970-01-01T00:00:01.000Z"),
    );
  });

  it("forgets the failures on success or reset, and keeps micros apart", () => {
    const backoff = new StartBackoff(() => 0);
    for (let i = 0; i < 3; i++) backoff.failed("a", crash);
    for (let i = 0; i < 3; i++) backoff.failed("b", crash);
    backoff.reset("a");
    assert.doesNotThrow(() => backoff.check("a"));
    assert.throws(() => backoff.check("b"));
  });
});
