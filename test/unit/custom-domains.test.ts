import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hostNameSchema } from "../../src/shared/domains.js";

describe("custom domain names", () => {
  it("are lower-cased, without a trailing dot", () => {
    assert.equal(hostNameSchema.parse(" App.Example.COM. "), "app.example.com");
    assert.equal(hostNameSchema.parse("xn--bcher-kva.example"), "xn--bcher-kva.example");
  });

  for (const host of [
    "localhost",
    "10.0.0.1",
    "::1",
    "1.2.3.4.5",
    "-app.example.com",
    "app-.example.com",
    "app..example.com",
    "*.example.com",
    "app_1.example.com",
    `${"a".repeat(64)}.example.com`,
    `${"abcdefghi.".repeat(26)}com`,
  ]) {
    it(`refuse ${host.length > 40 ? `${host.slice(0, 40)}...` : host}`, () => {
      assert.equal(hostNameSchema.safeParse(host).success, false);
    });
  }
});
