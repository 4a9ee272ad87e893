import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { microView } from "../../src/server/api/views.js";
import type { Micro } from "../../src/server/store/micros.js";
import type { Project } from "../../src/server/store/projects.js";

const micro = {
  id: "m1",
  name: "hello",
  runtime: "nodejs20",
  subdomain: "hello",
  httpAuth: false,
  visor: false,
  currentReleaseId: null,
  createdAt: Date.parse("2026-01-01T00:00:00Z"),
} as unknown as Micro;
const project = { id: "p1", name: "default", createdAt: 0 } as unknown as Project;

function view(nextRunAt: number) {
  return microView({
    micro,
    project,
    endpoint: "http://hello.localhost:4000",
    domains: [],
    sandbox: "bubblewrap",
    limits: { memoryBytes: 512 * 1024 * 1024, timeoutMs: 10_000, requestBodyBytes: 1024 },
    release: undefined,
    envVars: [],
    instances: [],
    startFailures: undefined,
    schedule: { microId: "m1", expression: "99999999999 days", nextRunAt, lastRunAt: null },
    releaseVersion: () => undefined,
  });
}

describe("a micro's schedule in its view", () => {
  it("shows a next run past what a date holds (stored before rates were bounded) as never, not a failed listing", () => {
    assert.equal(view(Date.parse("2026-01-02T00:00:00Z")).cron?.nextRun, "2026-01-02T00:00:00.000Z");
    assert.equal(view(99_999_999_999 * 86_400_000).cron?.nextRun, "never");
  });
});
