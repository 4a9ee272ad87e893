import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PROTOCOL } from "../../runtimes/node/protocol.mjs";
import { parseControlLine } from "../../src/server/instances/control.js";
import { ROOT } from "../helpers/micros.js";

describe("the runner protocol", () => {
  it("the Python runner's protocol.json is the one definition's (run `npm run runtimes:protocol` after changing it)", async () => {
    const json = JSON.parse(await readFile(join(ROOT, "runtimes", "python", "protocol.json"), "utf8"));
    assert.deepEqual(json, JSON.parse(JSON.stringify(PROTOCOL)));
  });

  it("accepts exactly the protocol's messages and says what is wrong with anything else", () => {
    assert.deepEqual(parseControlLine('{"type":"ready"}', false), { ok: true, message: { type: "ready" } });
    for (const code of PROTOCOL.failureCodes) {
      assert.equal(parseControlLine(JSON.stringify({ type: "failed", code, message: "m" }), false).ok, true);
    }
    const problems = [
      ['{"type":"failed","code":"toString","message":"x"}', /code: Invalid option/],
      ['{"type":"hello"}', /type: Invalid discriminator value/],
      ['{"type":"ready","extra":1}', /Unrecognized key: "extra"/],
      ["not json", /not JSON/],
      ["null", /expected object/],
    ] as const;
    for (const [line, problem] of problems) {
      const parsed = parseControlLine(line, false);
      assert.equal(parsed.ok, false, line);
      if (!parsed.ok) assert.match(parsed.problem, problem);
    }
    const long = parseControlLine("{}", true);
    assert.equal(long.ok, false);
    if (!long.ok) assert.match(long.problem, /a line longer than 16384 bytes/);
  });
});
