import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEnvFile } from "../../src/cli/env-file.js";
import { MicrosError } from "../../src/shared/errors.js";

describe("env files (micros update -e)", () => {
  it("reads the dotenv forms people write", () => {
    const text = [
      "# a comment",
      "",
      "PLAIN=value",
      "export EXPORTED=yes",
      "SPACED = trimmed  ",
      "COMMENTED=value # not part of it",
      "HASH=a#b",
      "SINGLE='literal \\n # kept'",
      'DOUBLE="line one\\nline two \\"quoted\\""',
      "EMPTY=",
      "URL=postgres://user:p=ss@host:5432/db",
    ].join("\n");
    assert.deepEqual(parseEnvFile(text, ".env"), {
      PLAIN: "value",
      EXPORTED: "yes",
      SPACED: "trimmed",
      COMMENTED: "value",
      HASH: "a#b",
      SINGLE: "literal \\n # kept",
      DOUBLE: 'line one\nline two "quoted"',
      EMPTY: "",
      URL: "postgres://user:p=ss@host:5432/db",
    });
  });

  const bad: [string, RegExp][] = [
    ["OK=1\nnot a line\n", /\.env, line 2: expected KEY=value/],
    ["OK=1\n\n1ABC=x", /\.env, line 3: 1ABC must be letters/],
    ["DETA_PATH=x", /line 1: DETA_PATH is reserved/],
    ['OPEN="never closed', /line 1: the quoted value is not closed/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text.split("\n").find((line) => line && !line.startsWith("OK")))}, naming the line`, () => {
      assert.throws(
        () => parseEnvFile(text, ".env"),
        (err: unknown) => err instanceof MicrosError && err.code === "ERR_VALIDATION" && message.test(err.message),
      );
    });
  }
});
