import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isReservedPath } from "../../src/server/gateway/reserved-path.js";

describe("reserved paths, as the app will see them", () => {
  it("refuses every spelling of /__micros/ that a server or framework turns back into it", () => {
    for (const target of [
      "/__micros/event",
      "/__micros",
      "/__micros/",
      "/%5F_micros/event",
      "/%5f%5fmicros/event",
      "/__micros%2Fevent",
      "/__micros%2fevent?x=1",
      "/%255F_micros/event",
      "/__MICROS/event",
      "/x/../__micros/event",
      "/./__micros/event",
      "//__micros/event",
      "/x/%2E%2E/__micros/event",
      "/\\__micros/event",
      "http://evil/__micros/event",
    ]) {
      assert.equal(isReservedPath(target), true, target);
    }
  });

  it("lets everything else through", () => {
    for (const target of [
      "/",
      "/__microscope",
      "/api/__micros/event",
      "/x%2Fy",
      "/a/../b",
      "/%E2%82%AC",
      "/?p=/__micros/",
    ]) {
      assert.equal(isReservedPath(target), false, target);
    }
  });
});
