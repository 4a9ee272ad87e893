import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProjectKeys } from "../../src/server/project-keys.js";
import { Secrets } from "../../src/server/secrets.js";
import { useTmpDir } from "../helpers/micros.js";
import { useStore } from "../helpers/store.js";

describe("project keys", () => {
  it("have exactly one _, as Deta's Go SDK requires, and open their own project only", async () => {
    const dir = await useTmpDir();
    const store = await useStore();
    const keys = new ProjectKeys(store.projects, await Secrets.load(dir));
    const owner = await store.users.create("owner", false);
    const [a, b] = [await store.projects.create(owner.id, "a"), await store.projects.create(owner.id, "b")];
    for (let i = 0; i < 50; i++) assert.equal((await keys.rotate(a.id)).split("_").length, 2);
    const keyA = await keys.keyFor(a.id);
    const keyB = await keys.keyFor(b.id);
    assert.match(keyA, new RegExp(`^${a.id}_[a-z0-9]{32}$`));
    assert.equal(await keys.projectOf(keyA), a.id);
    assert.equal(await keys.projectOf(keyB), b.id);
    const forged = `${a.id}_${keyB.split("_")[1]}`;
    for (const wrong of [forged, `${keyA}x`, keyA.slice(0, -1), a.id, `_${keyA}`, "", `nope_${keyA.split("_")[1]}`]) {
      assert.equal(await keys.projectOf(wrong), undefined, wrong);
    }
    await keys.rotate(a.id);
    assert.equal(await keys.projectOf(keyA), undefined, "a rotated key opens nothing at once");
    // A key kept by a restarted server (sealed at rest) opens its project as before.
    assert.equal(
      await new ProjectKeys(store.projects, await Secrets.load(dir)).projectOf(await keys.keyFor(a.id)),
      a.id,
    );
  });

  it("are made once when two instances of a new project ask at once, so both get the key that opens", async () => {
    const dir = await useTmpDir();
    const store = await useStore();
    const keys = new ProjectKeys(store.projects, await Secrets.load(dir));
    const owner = await store.users.create("racer", false);
    const project = await store.projects.create(owner.id, "default");
    const [one, two] = await Promise.all([keys.keyFor(project.id), keys.keyFor(project.id)]);
    assert.equal(one, two);
    assert.equal(await keys.projectOf(one), project.id);
  });
});
