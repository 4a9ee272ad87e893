import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Store } from "../../src/server/store/store.js";

// The gateway's lookup by subdomain is kept between requests: every change to a micro must show at once.
describe("looking a micro up by subdomain", async () => {
  const dir = await mkdtemp(join(tmpdir(), "micros-lookup-"));
  after(() => rm(dir, { recursive: true, force: true }));
  const store = Store.open(join(dir, "micros.db"));
  after(() => store.close());
  const owner = store.users.create("owner", false);
  const project = store.projects.create(owner.id, "default");
  const micro = store.micros.create({ projectId: project.id, name: "kept", runtime: "nodejs20" });

  it("answers the same micro until it changes", () => {
    assert.equal(store.micros.bySubdomain("kept"), store.micros.bySubdomain("kept"));
    assert.equal(store.micros.bySubdomain("none"), undefined);
  });

  it("sees a setting changed", () => {
    assert.equal(store.micros.bySubdomain("kept")?.httpAuth, false);
    store.micros.setHttpAuth(micro.id, true);
    assert.equal(store.micros.bySubdomain("kept")?.httpAuth, true);
  });

  it("sees a new release made current by another table's code", () => {
    assert.equal(store.micros.bySubdomain("kept")?.currentReleaseId, null);
    const release = store.releases.activate({
      id: store.releases.newId(),
      microId: micro.id,
      codeBytes: 1,
      fileCount: 1,
      install: "none",
    });
    assert.equal(store.micros.bySubdomain("kept")?.currentReleaseId, release.id);
  });

  it("forgets a deleted micro", () => {
    assert.ok(store.micros.bySubdomain("kept"));
    store.micros.delete(micro.id);
    assert.equal(store.micros.bySubdomain("kept"), undefined);
  });
});
