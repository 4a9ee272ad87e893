import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineSplitter } from "../../src/server/instances/line-splitter.js";

function split(chunks: (string | Buffer)[], maxBytes = 8): [string, boolean][] {
  const lines: [string, boolean][] = [];
  const splitter = new LineSplitter(maxBytes, (line, cut) => lines.push([line, cut]));
  for (const chunk of chunks) splitter.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  splitter.end();
  return lines;
}

describe("the bounded line splitter", () => {
  it("splits lines across and within chunks, drops \\r before \\n, and keeps a last line without a newline", () => {
    assert.deepEqual(split(["ab\ncd", "e\r\n\nlast"]), [
      ["ab", false],
      ["cde", false],
      ["", false],
      ["last", false],
    ]);
  });

  it("hands on an over-long line once, cut, and drops the rest of it up to its newline", () => {
    assert.deepEqual(split(["0123456789", "abcdef", "ghi\nnext\n"]), [
      ["01234567", true],
      ["next", false],
    ]);
    assert.deepEqual(split(["0123456789abcdef\nok\n"]), [
      ["01234567", true],
      ["ok", false],
    ]);
    assert.deepEqual(split(["01234567\n"]), [["01234567", false]], "a line of exactly the limit is whole");
  });

  it("never cuts inside a UTF-8 character", () => {
    // "é" is two bytes: the limit falls between them, so the cut comes before it.
    assert.deepEqual(split(["abcdefgé\n"]), [["abcdefg", true]]);
    assert.deepEqual(split([Buffer.from("abcdefgé").subarray(0, 8), Buffer.from("é").subarray(1), "\n"]), [
      ["abcdefg", true],
    ]);
  });

  it("holds at most the limit whatever arrives: 64 MB without a newline in 1 MB chunks", () => {
    const lines: [string, boolean][] = [];
    const limit = 16 * 1024;
    const splitter = new LineSplitter(limit, (line, cut) => lines.push([line.slice(0, 3), cut]));
    const chunk = Buffer.alloc(1024 * 1024, "x");
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 64; i++) splitter.push(chunk);
    assert.ok(process.memoryUsage().arrayBuffers - before < 4 * 1024 * 1024);
    splitter.push(Buffer.from("\nafter\n"));
    assert.deepEqual(lines, [
      ["xxx", true],
      ["aft", false],
    ]);
  });
});
