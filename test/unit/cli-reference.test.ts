import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildProgram } from "../../src/cli/main.js";
import { cliReference } from "../../src/cli/reference.js";
import { ROOT } from "../helpers/micros.js";

describe("docs/cli.md", () => {
  it("is what the command definitions generate (run `npm run docs:cli` after changing a command)", async () => {
    const program = await buildProgram(
      { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: ROOT },
      async () => {},
    );
    assert.equal(await readFile(join(ROOT, "docs", "cli.md"), "utf8"), cliReference(program));
  });
});
