import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Scheduler } from "../../src/server/cron/scheduler.js";
import { LogSink } from "../../src/server/logs/log-sink.js";
import { useStore } from "../helpers/store.js";

describe("the cron scheduler", async () => {
  const store = await useStore();
  const owner = await store.users.create("owner", false);
  const project = await store.projects.create(owner.id, "default");
  const micro = await store.micros.create({ projectId: project.id, name: "ticker", runtime: "nodejs20" });
  const logs = new LogSink(store.logs);
  let now = Date.parse("2026-11-23T07:00:00Z");
  const fired: number[] = [];
  const scheduler = new Scheduler({
    store,
    logs,
    now: () => now,
    fire: async () => {
      fired.push(now);
    },
  });

  it("fires when due, and not before", async () => {
    await store.schedules.set(micro.id, "5 minutes", now + 5 * 60_000);
    await scheduler.tick();
    assert.deepEqual(fired, []);
    now += 5 * 60_000;
    await scheduler.tick();
    assert.deepEqual(fired, [now]);
    assert.equal((await store.schedules.get(micro.id))?.nextRunAt, now + 5 * 60_000);
  });

  it("after a long outage, fires once and goes on from the present", async () => {
    fired.length = 0;
    now += 3 * 60 * 60_000; // three hours down: 36 runs missed
    await scheduler.tick();
    await scheduler.tick();
    assert.equal(fired.length, 1, "one catch-up run, not 36");
    assert.equal((await store.schedules.get(micro.id))?.nextRunAt, now + 5 * 60_000);
  });

  it("fires a run once when several servers on one store tick at the same moment", async () => {
    fired.length = 0;
    const others = Array.from(
      { length: 3 },
      () => new Scheduler({ store, logs, now: () => now, fire: async () => fired.push(now) }),
    );
    now += 5 * 60_000;
    await Promise.all([scheduler, ...others].map((each) => each.tick()));
    assert.deepEqual(fired, [now]);
    assert.equal((await store.schedules.get(micro.id))?.nextRunAt, now + 5 * 60_000);
  });

  it("leaves a due run to the node that runs the micro, and takes it when that node did not", async () => {
    fired.length = 0;
    const firedBy: string[] = [];
    const node = (name: string, graceMs: number) =>
      new Scheduler({
        store,
        logs,
        now: () => now,
        graceFor: () => graceMs,
        fire: async () => {
          firedBy.push(name);
        },
      });
    const runsIt = node("runs it", 0);
    const elsewhere = node("elsewhere", 2000);
    now += 5 * 60_000;
    await elsewhere.tick();
    assert.deepEqual(firedBy, [], "not yet: the node that runs the micro may claim it first");
    await runsIt.tick();
    await elsewhere.tick();
    assert.deepEqual(firedBy, ["runs it"]);
    // The node that runs it is gone: the next run is taken elsewhere once the grace has passed.
    now += 5 * 60_000 + 2000;
    await elsewhere.tick();
    assert.deepEqual(firedBy, ["runs it", "elsewhere"]);
  });

  it("logs each run with its outcome", async () => {
    await logs.flush();
    const lines = (await store.logs.list(micro.id, { limit: 100 })).map((line) => line.message);
    assert.ok(lines.includes('cron run started (schedule "5 minutes")'));
    assert.ok(lines.some((line) => /^cron run finished in \d+ ms$/.test(line)));
  });
});
