import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tokenRefusal } from "../../src/server/api/token-refusal.js";
import { openDatabase } from "../../src/server/store/sqlite/database.js";
import { SqliteUsers } from "../../src/server/store/sqlite/users.js";
import { LAST_USED_PRECISION_MS } from "../../src/server/store/tokens.js";
import { MicrosError } from "../../src/shared/errors.js";
import { useTmpDir } from "../helpers/micros.js";

/** Users over a fresh database, on a clock the test moves. */
async function users() {
  const clock = { now: Date.parse("2026-12-01T12:00:00Z") };
  const db = openDatabase(join(await useTmpDir(), "micros.db"));
  return { users: new SqliteUsers(db, () => clock.now), clock, db };
}

describe("access tokens", () => {
  it("open their user until revoked, then nothing, at once", async () => {
    const { users: store } = await users();
    const ada = await store.create("ada", false);
    const laptop = (await store.tokens.issue(ada.id, "laptop")).token;
    const ci = (await store.tokens.issue(ada.id, "ci")).token;
    assert.equal((await store.byToken(laptop))?.name, "ada");
    assert.equal(await store.tokens.revoke(ada.id, "laptop"), true);
    assert.equal(await store.byToken(laptop), undefined);
    assert.equal((await store.byToken(ci))?.name, "ada", "the user's other tokens still work");
    assert.equal(await store.tokens.revoke(ada.id, "laptop"), false);
    const refusal = await tokenRefusal(store, laptop);
    assert.equal(refusal.code, "ERR_UNAUTHORIZED");
    assert.match(refusal.message, /revoked/);
  });

  it("stop working when they expire, and say so with how to get a new one", async () => {
    const { users: store, clock } = await users();
    const ada = await store.create("ada", false);
    const expiresAt = clock.now + 60_000;
    const { token, info } = await store.tokens.issue(ada.id, "short", expiresAt);
    assert.equal(info.expiresAt, expiresAt);
    clock.now = expiresAt - 1;
    assert.equal((await store.byToken(token))?.name, "ada");
    clock.now = expiresAt;
    assert.equal(await store.byToken(token), undefined, "refused from the moment it expires");
    const refusal = await tokenRefusal(store, token);
    assert.ok(refusal instanceof MicrosError);
    assert.equal(refusal.code, "ERR_TOKEN_EXPIRED");
    assert.equal(refusal.status, 401);
    assert.match(refusal.message, /\(short\) expired at 2026-12-01T12:01:00.000Z/);
    assert.match(refusal.message, /micros tokens create <name>` while logged in with a token that is still valid/);
    assert.match(refusal.message, /ask an admin/);
    assert.equal((await store.tokens.list(ada.id))[0]?.expiresAt, expiresAt, "an expired token is still listed");
  });

  it("note when they were last used, at most once a minute", async () => {
    const { users: store, clock } = await users();
    const ada = await store.create("ada", false);
    const { token } = await store.tokens.issue(ada.id, "laptop");
    const lastUsed = async () => (await store.tokens.list(ada.id))[0]?.lastUsedAt;
    assert.equal(await lastUsed(), null);
    const first = clock.now;
    await store.byToken(token);
    assert.equal(await lastUsed(), first);
    clock.now += LAST_USED_PRECISION_MS - 1;
    await store.byToken(token);
    assert.equal(await lastUsed(), first, "not written again within the minute");
    clock.now += 1;
    await store.byToken(token);
    assert.equal(await lastUsed(), clock.now);
  });

  it("have names unique per user, not across users", async () => {
    const { users: store } = await users();
    const ada = await store.create("ada", false);
    const bob = await store.create("bob", false);
    await store.tokens.issue(ada.id, "ci");
    await assert.rejects(
      () => store.tokens.issue(ada.id, "ci"),
      (err: unknown) =>
        err instanceof MicrosError && err.code === "ERR_NAME_TAKEN" && /already has a token named ci/.test(err.message),
    );
    await store.tokens.issue(bob.id, "ci");
    assert.deepEqual(
      (await store.tokens.list(ada.id)).map((token) => token.name),
      ["ci"],
    );
    assert.equal(await store.tokens.revoke(bob.id, "ci"), true);
    assert.equal((await store.tokens.list(ada.id)).length, 1, "revoking bob's ci left ada's alone");
  });

  it("go with their user, whose projects and micros go too", async () => {
    const { users: store, db } = await users();
    const ada = await store.create("ada", false);
    const { token } = await store.tokens.issue(ada.id, "laptop");
    db.prepare("INSERT INTO projects (id, owner_id, name, created_at) VALUES ('p1', ?, 'default', 0)").run(ada.id);
    db.prepare(
      "INSERT INTO micros (id, project_id, name, subdomain, runtime, created_at, updated_at) VALUES ('m1', 'p1', 'hi', 'hi', 'nodejs20', 0, 0)",
    ).run();
    await store.delete(ada.id);
    assert.equal(await store.byToken(token), undefined);
    assert.equal((await tokenRefusal(store, token)).code, "ERR_UNAUTHORIZED");
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    assert.deepEqual([count("tokens"), count("projects"), count("micros")], [0, 0, 0]);
  });
});
