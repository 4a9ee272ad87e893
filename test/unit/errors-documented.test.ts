import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ERROR_CODES } from "../../src/shared/errors.js";
import { ROOT } from "../helpers/micros.js";

describe("docs/errors.md", () => {
  it("documents every error code with its status, and no code that does not exist", async () => {
    const doc = await readFile(join(ROOT, "docs", "errors.md"), "utf8");
    const rows = new Map<string, number>();
    for (const match of doc.matchAll(/^\| `(ERR_[A-Z_]+)` *\| (\d{3}) *\|/gm))
      rows.set(match[1] as string, Number(match[2]));
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      assert.equal(rows.get(code), status, `${code} is documented with status ${status}`);
    }
    assert.deepEqual(
      [...rows.keys()].filter((code) => !(code in ERROR_CODES)),
      [],
    );
  });
});
