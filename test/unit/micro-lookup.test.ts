import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "../helpers/micros.js";
import { cachedLookup, useStore } from "../helpers/store.js";

// The gateway's lookup by subdomain is kept between requests: every change to a micro must show at once.
describe("looking a micro up by subdomain", async () => {
  const store = await useStore();
  const owner = await store.users.create("owner", false);
  const project = await store.projects.create(owner.id, "default");
  const micro = await store.micros.create({ projectId: project.id, name: "kept", runtime: "nodejs20" });

  it("answers the same micro until it changes", async () => {
    await waitFor("the lookup to be kept", () => cachedLookup(store, "kept"));
    assert.equal(await store.micros.bySubdomain("none"), undefined);
  });

  it("sees a setting changed", async () => {
    assert.equal((await store.micros.bySubdomain("kept"))?.httpAuth, false);
    await store.micros.setHttpAuth(micro.id, true);
    assert.equal((await store.micros.bySubdomain("kept"))?.httpAuth, true);
  });

  it("sees a new release made current by another table's code", async () => {
    assert.equal((await store.micros.bySubdomain("kept"))?.currentReleaseId, null);
    const release = await store.releases.activate({
      id: store.releases.newId(),
      microId: micro.id,
      codeBytes: 1,
      fileCount: 1,
      install: "none",
    });
    assert.equal((await store.micros.bySubdomain("kept"))?.currentReleaseId, release.id);
  });

  it("forgets a deleted micro", async () => {
    assert.ok(await store.micros.bySubdomain("kept"));
    await store.micros.delete(micro.id);
    assert.equal(await store.micros.bySubdomain("kept"), undefined);
  });
});
