import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WarmPool } from "../../src/server/instances/executors/warm-pool.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function pool(makeMs: number) {
  let made = 0;
  const warm = new WarmPool(
    2,
    async () => {
      const id = ++made;
      await sleep(makeMs);
      return { id, alive: true, discard: async () => {} };
    },
    () => {},
  );
  return warm;
}

describe("the warm pool", () => {
  it("a launch takes a made one at once", async () => {
    const warm = pool(10);
    warm.keep(["node"]);
    await sleep(50);
    const started = performance.now();
    assert.equal((await warm.take("node"))?.id, 1);
    assert.ok(performance.now() - started < 10);
    await warm.close();
  });

  it("a burst takes the one being made, but never waits behind the queue: the others make their own", async () => {
    const warm = pool(200);
    warm.keep(["node"]);
    await sleep(20);
    const started = performance.now();
    const [first, second] = await Promise.all([
      warm.take("node"),
      warm.take("node").then((taken) => ({ taken, after: performance.now() - started })),
    ]);
    assert.equal(first?.id, 1, "the one being made");
    assert.equal(second.taken, undefined, "the queued one is not waited for");
    assert.ok(second.after < 50, `answered after ${second.after} ms`);
    await warm.close();
  });

  it("a key it does not keep gets nothing", async () => {
    assert.equal(await pool(1).take("python"), undefined);
  });
});
