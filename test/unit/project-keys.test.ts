import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ProjectKeys } from "../../src/server/project-keys.js";
import { Secrets } from "../../src/server/secrets.js";
import { Store } from "../../src/server/store/store.js";
import { useTmpDir } from "../helpers/micros.js";

describe("project keys", () => {
  it("have exactly one _, as Deta's Go SDK requires, and open their own project only", async () => {
    const dir = await useTmpDir();
    const store = Store.open(join(dir, "micros.db"));
    const keys = new ProjectKeys(store.projects, await Secrets.load(dir));
    const owner = store.users.create("owner", false);
    const [a, b] = [store.projects.create(owner.id, "a"), store.projects.create(owner.id, "b")];
    for (let i = 0; i < 50; i++) assert.equal(keys.rotate(a.id).split("_").length, 2);
    const keyA = keys.keyFor(a.id);
    const keyB = keys.keyFor(b.id);
    assert.match(keyA, new RegExp(`^${a.id}_[a-z0-9]{32}$`));
    assert.equal(keys.projectOf(keyA), a.id);
    assert.equal(keys.projectOf(keyB), b.id);
    const forged = `${a.id}_${keyB.split("_")[1]}`;
    for (const wrong of [forged, `${keyA}x`, keyA.slice(0, -1), a.id, `_${keyA}`, "", `nope_${keyA.split("_")[1]}`]) {
      assert.equal(keys.projectOf(wrong), undefined, wrong);
    }
    keys.rotate(a.id);
    assert.equal(keys.projectOf(keyA), undefined, "a rotated key opens nothing at once");
    // A key kept by a restarted server (sealed at rest) opens its project as before.
    assert.equal(new ProjectKeys(store.projects, await Secrets.load(dir)).projectOf(keys.keyFor(a.id)), a.id);
    store.close();
  });
});
