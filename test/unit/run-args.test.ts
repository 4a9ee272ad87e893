import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRunArgs } from "../../src/cli/run-args.js";

describe("micros run arguments", () => {
  it("takes the first word as the action and the rest as JSON, Deta's way", () => {
    assert.deepEqual(parseRunArgs(["greet", "--name", "ada", "--tag", "a", "--tag", "b", "--loud", "-q"]), {
      action: "greet",
      args: { name: "ada", tag: ["a", "b"], loud: true, q: true },
    });
  });

  it("has no action when the first word is a flag", () => {
    assert.deepEqual(parseRunArgs(["--count", "3"]), { action: "", args: { count: "3" } });
    assert.deepEqual(parseRunArgs([]), { action: "", args: {} });
  });
});
