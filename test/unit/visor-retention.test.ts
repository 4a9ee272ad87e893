import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RequestRecord } from "../../src/server/store/requests.js";
import { RequestLog, VISOR_KEEP, VISOR_MAX_AGE_MS } from "../../src/server/visor/request-log.js";
import { useStore } from "../helpers/store.js";

describe("visor retention", async () => {
  const store = await useStore();
  const owner = await store.users.create("owner", false);
  const project = await store.projects.create(owner.id, "default");
  const micro = await store.micros.create({ projectId: project.id, name: "busy", runtime: "nodejs20" });
  let now = Date.parse("2026-11-23T07:00:00Z");
  const log = new RequestLog(store.requests, () => now);
  const record = (ts: number, path: string): RequestRecord => ({
    microId: micro.id,
    ts,
    method: "GET",
    path,
    status: 200,
    durationMs: 1,
    requestBytes: 0,
    responseBytes: 2,
    instanceId: "i",
    cold: false,
    timings: null,
    requestHeaders: null,
    requestBody: null,
    responseBody: null,
  });

  it("keeps at most the newest requests of a micro, and none older than the age limit", async () => {
    for (let i = 0; i < VISOR_KEEP + 50; i++) log.record(record(now - VISOR_MAX_AGE_MS - 1, `/old/${i}`));
    await log.flush();
    now += 1;
    for (let i = 0; i < 10; i++) log.record(record(now, `/new/${i}`));
    await log.flush();
    await log.trim(micro.id);
    const kept = await store.requests.list(micro.id, 10_000);
    assert.deepEqual(
      kept.map((request) => request.path),
      Array.from({ length: 10 }, (_, i) => `/new/${i}`),
    );
  });

  it("trims by count when requests are recent", async () => {
    for (let i = 0; i < VISOR_KEEP + 20; i++) log.record(record(now, `/recent/${i}`));
    await log.flush();
    await log.trim(micro.id);
    const kept = await store.requests.list(micro.id, 10_000);
    assert.equal(kept.length, VISOR_KEEP);
    assert.equal(kept.at(-1)?.path, `/recent/${VISOR_KEEP + 19}`);
  });
});
