/**
 * What waits to be written is bounded: a store slower than what arrives (lines flooding into PostgreSQL, say) makes
 * the batch refuse items past its byte limit rather than hold them all, says so to its owner once the writes catch
 * up, and keeps order and every item it took.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LogSink } from "../../src/server/logs/log-sink.js";
import type { LogLine, Logs, NewLogLine } from "../../src/server/store/logs.js";
import { WriteBatch } from "../../src/server/util/write-batch.js";
import { useStore } from "../helpers/store.js";

/** A write that finishes only when the test lets it. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe("a write batch", () => {
  it("refuses items past its byte limit while the store is behind, then takes them again and says so", async () => {
    const written: number[][] = [];
    const slow = gate();
    let rooms = 0;
    const batch = new WriteBatch<number>({
      delayMs: 1,
      maxItems: 10,
      maxWaitingBytes: 100,
      sizeOf: () => 10,
      write: async (items) => {
        await slow.opened;
        written.push(items);
      },
      onRoom: () => rooms++,
    });
    const taken = Array.from({ length: 15 }, (_, index) => batch.add(index));
    assert.deepEqual(taken, [...Array(10).fill(true), ...Array(5).fill(false)]);
    const flushed = batch.flush();
    assert.equal(batch.add(99), false, "a batch being written still counts");
    assert.equal(rooms, 0);
    slow.open();
    await flushed;
    assert.equal(rooms, 1);
    assert.equal(batch.add(10), true);
    await batch.flush();
    assert.deepEqual(written, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10]]);
  });

  it("frees what it drops", () => {
    const batch = new WriteBatch<number>({
      delayMs: 1000,
      maxItems: 100,
      maxWaitingBytes: 30,
      sizeOf: () => 10,
      write: async () => {},
    });
    for (const item of [1, 2, 3]) assert.equal(batch.add(item), true);
    assert.equal(batch.add(4), false);
    batch.drop((item) => item < 3);
    assert.equal(batch.add(4), true);
    assert.equal(batch.add(5), true);
    assert.equal(batch.add(6), false);
    batch.drop(() => true);
  });
});

describe("the log sink, on a store slower than the micro prints", () => {
  it("drops lines past its limit and tells the micro's logs how many, in order with the rest", async () => {
    const store = await useStore();
    const owner = await store.users.create("owner", false);
    const project = await store.projects.create(owner.id, "default");
    const micro = await store.micros.create({ projectId: project.id, name: "chatty", runtime: "nodejs20" });
    const slow = gate();
    const logs: Logs = {
      append: async (lines: readonly NewLogLine[]): Promise<LogLine[]> => {
        await slow.opened;
        return store.logs.append(lines);
      },
      list: (microId, options) => store.logs.list(microId, options),
      trim: (microId, keep) => store.logs.trim(microId, keep),
      after: (microId, afterId, limit) => store.logs.after(microId, afterId, limit),
      lastId: (microId) => store.logs.lastId(microId),
    };
    const sink = new LogSink(logs);
    // 64 MB of 16 KiB lines, eight times what may wait.
    const line = "x".repeat(16 * 1024 - 1);
    for (let i = 0; i < 4096; i++) sink.write(micro.id, "stdout", `${i} ${line}`);
    slow.open();
    await sink.flush();
    await sink.flush();
    const stored = await store.logs.list(micro.id, { limit: 10_000 });
    const marker = stored.at(-1);
    assert.equal(marker?.source, "platform");
    const dropped = Number(
      /^(\d+) lines dropped: the micro printed faster than the platform could store them/.exec(
        marker?.message ?? "",
      )?.[1],
    );
    const kept = stored.filter((each) => each.source === "stdout");
    assert.ok(kept.length > 100 && kept.length < 4096, `${kept.length} lines kept`);
    assert.equal(kept.length + dropped, 4096);
    assert.deepEqual(
      kept.map((each) => Number(each.message.split(" ")[0])),
      kept.map((_, index) => index),
      "the first lines are kept, in order",
    );
  });
});
