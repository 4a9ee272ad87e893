/**
 * One suite, every store: each repository method's behaviour, run against SQLite and against PostgreSQL (from
 * MICROS_TEST_DATABASE_URL, in a database of its own made for the run and dropped after it). The callers rely on
 * these results whichever store is chosen, so a difference here is a bug in one of the two.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PG_MIGRATIONS } from "../../src/server/store/postgres/migrations.js";
import { PostgresStore } from "../../src/server/store/postgres/postgres-store.js";
import type { RequestRecord } from "../../src/server/store/requests.js";
import { SqliteStore } from "../../src/server/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/server/store/store.js";
import { MicrosError } from "../../src/shared/errors.js";
import { useTmpDir, waitFor } from "../helpers/micros.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../helpers/postgres.js";
import { cachedLookup } from "../helpers/store.js";

interface Implementation {
  name: string;
  /** A fresh, empty store, and what closes and removes it. */
  open(): Promise<{ store: Store; dispose(): Promise<void> }>;
  skip?: string;
}

const IMPLEMENTATIONS: Implementation[] = [
  {
    name: "SQLite",
    open: async () => {
      // The folder itself is removed with the test file's other temporary folders.
      const store = SqliteStore.open(join(await useTmpDir("micros-contract-"), "micros.db"));
      return { store, dispose: () => store.close() };
    },
  },
  {
    name: "PostgreSQL",
    skip: TEST_DATABASE_URL
      ? undefined
      : "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases (such as postgres://micros:micros@127.0.0.1:5432/micros) to run this suite on PostgreSQL too",
    open: async () => {
      const database = await createTestDatabase();
      const store = await PostgresStore.open(database.url);
      return {
        store,
        dispose: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
  },
];

const code = (expected: string, message?: RegExp) => (err: unknown) =>
  err instanceof MicrosError && err.code === expected && (!message || message.test(err.message));

function request(microId: string, ts: number, path: string, status = 200): RequestRecord {
  return {
    microId,
    ts,
    method: "POST",
    path,
    status,
    durationMs: 1.25,
    requestBytes: 3,
    responseBytes: 2,
    instanceId: "i1",
    cold: true,
    timings: { firstByteMs: 1, loadMs: 2 },
    client: "127.0.0.1",
    requestHeaders: [["content-type", "text/plain"]],
    requestBody: Buffer.from("abc"),
    responseBody: Buffer.from([0, 255]),
  };
}

for (const implementation of IMPLEMENTATIONS) {
  describe(`the store on ${implementation.name}`, { skip: implementation.skip }, () => {
    let store: Store;
    let dispose: () => Promise<void> = async () => {};
    before(async () => {
      ({ store, dispose } = await implementation.open());
    });
    after(() => dispose());

    /** A user with a project and a micro, named apart from every other test's. */
    async function owned(name: string) {
      const user = await store.users.create(name, false);
      const project = await store.projects.create(user.id, "default");
      const micro = await store.micros.create({ projectId: project.id, name, runtime: "nodejs20" });
      return { user, project, micro };
    }

    describe("users", () => {
      it("are created, found by name, listed by name and counted as admins", async () => {
        const admins = await store.users.admins();
        const zed = await store.users.create("zed", true);
        const amy = await store.users.create("amy", false);
        assert.deepEqual(await store.users.byName("zed"), zed);
        assert.equal(await store.users.byName("nobody"), undefined);
        assert.equal(zed.isAdmin, true);
        const names = (await store.users.list()).map((user) => user.name);
        assert.deepEqual(
          names.filter((name) => name === "amy" || name === "zed"),
          ["amy", "zed"],
        );
        const listed = (await store.users.list()).find((user) => user.id === amy.id);
        assert.equal(typeof listed?.createdAt, "number");
        assert.equal(await store.users.admins(), admins + 1);
      });

      it("refuse a name that is taken with ERR_NAME_TAKEN", async () => {
        await store.users.create("twin", false);
        await assert.rejects(store.users.create("twin", true), code("ERR_NAME_TAKEN", /user named twin/));
      });

      it("have a small serial number of their own", async () => {
        const a = await store.users.create("serial-a", false);
        const b = await store.users.create("serial-b", false);
        const [sa, sb] = [await store.users.serial(a.id), await store.users.serial(b.id)];
        assert.equal(typeof sa, "number");
        assert.notEqual(sa, sb);
        assert.equal(await store.users.serial("nobody"), undefined);
      });

      it("go with their tokens, projects, micros and everything of those micros", async () => {
        const { user, micro } = await owned("leaving");
        const token = await store.users.issueToken(user.id, "first");
        await store.domains.add(micro.id, "leaving.example.com");
        assert.equal((await store.domains.routes()).get("leaving.example.com"), "leaving");
        assert.ok(await store.micros.bySubdomain("leaving"));
        await store.users.delete(user.id);
        assert.equal(await store.users.byToken(token), undefined);
        assert.deepEqual(await store.projects.list(user.id), []);
        assert.equal(await store.micros.byId(micro.id), undefined);
        assert.equal(await store.micros.bySubdomain("leaving"), undefined, "the gateway's lookup forgets it at once");
        assert.equal((await store.domains.routes()).get("leaving.example.com"), undefined);
      });
    });

    describe("tokens", () => {
      it("open their user until revoked, are listed by name, and refuse a second of one name", async () => {
        const ada = await store.users.create("token-ada", false);
        const laptop = await store.users.tokens.issue(ada.id, "laptop");
        const ci = await store.users.issueToken(ada.id, "ci");
        assert.match(laptop.token, /^micros_/);
        assert.equal(laptop.info.prefix, laptop.token.slice(0, 13));
        assert.deepEqual(await store.users.byToken(laptop.token), ada);
        assert.deepEqual(await store.users.tokens.check(ci), { state: "valid", userId: ada.id });
        assert.deepEqual(
          (await store.users.tokens.list(ada.id)).map((token) => token.name),
          ["ci", "laptop"],
        );
        await assert.rejects(
          store.users.tokens.issue(ada.id, "ci"),
          code("ERR_NAME_TAKEN", /already has a token named ci/),
        );
        assert.equal(await store.users.tokens.revoke(ada.id, "laptop"), true);
        assert.equal(await store.users.tokens.revoke(ada.id, "laptop"), false);
        assert.deepEqual(await store.users.tokens.check(laptop.token), { state: "unknown" });
        assert.equal(await store.users.byToken(laptop.token), undefined);
      });

      it("say when they expired, and note their last use", async () => {
        const bob = await store.users.create("token-bob", false);
        const expiredAt = Date.now() - 1;
        const old = await store.users.tokens.issue(bob.id, "old", expiredAt);
        assert.deepEqual(await store.users.tokens.check(old.token), {
          state: "expired",
          name: "old",
          prefix: old.info.prefix,
          expiredAt,
        });
        const fresh = await store.users.tokens.issue(bob.id, "fresh");
        assert.equal((await store.users.tokens.list(bob.id)).find((t) => t.name === "fresh")?.lastUsedAt, null);
        await store.users.byToken(fresh.token);
        const used = (await store.users.tokens.list(bob.id)).find((t) => t.name === "fresh");
        assert.equal(typeof used?.lastUsedAt, "number");
        assert.equal(used?.expiresAt, null);
      });
    });

    describe("projects", () => {
      it("are created, listed by name, found by name and id, and ensured once", async () => {
        const user = await store.users.create("project-owner", false);
        const b = await store.projects.create(user.id, "b");
        const a = await store.projects.create(user.id, "a");
        assert.deepEqual(
          (await store.projects.list(user.id)).map((project) => project.name),
          ["a", "b"],
        );
        assert.deepEqual(await store.projects.byName(user.id, "b"), b);
        assert.deepEqual(await store.projects.byId(a.id), a);
        assert.equal(await store.projects.byId("none"), undefined);
        assert.deepEqual(await store.projects.ensure(user.id, "a"), a);
        const made = await store.projects.ensure(user.id, "c");
        assert.deepEqual(await store.projects.ensure(user.id, "c"), made);
        const [one, two] = await Promise.all([
          store.projects.ensure(user.id, "at-once"),
          store.projects.ensure(user.id, "at-once"),
        ]);
        assert.equal(one.id, two.id, "two ensures at once give the one project");
        await assert.rejects(store.projects.create(user.id, "a"), code("ERR_NAME_TAKEN", /project named a/));
      });

      it("keep a sealed key", async () => {
        const user = await store.users.create("project-keys", false);
        const project = await store.projects.create(user.id, "default");
        assert.equal(await store.projects.sealedKey(project.id), null);
        const sealed = Buffer.from([1, 2, 3, 0, 255]);
        await store.projects.setSealedKey(project.id, sealed);
        assert.deepEqual(await store.projects.sealedKey(project.id), sealed);
      });
    });

    describe("micros", () => {
      it("get their name as subdomain when it is free server-wide, otherwise a suffixed one", async () => {
        const first = await owned("shared-name");
        assert.equal(first.micro.subdomain, "shared-name");
        const other = await store.users.create("shared-name-2", false);
        const project = await store.projects.create(other.id, "default");
        const second = await store.micros.create({ projectId: project.id, name: "shared-name", runtime: "python3.11" });
        assert.match(second.subdomain, /^shared-name-[a-z0-9]{6}$/);
        assert.deepEqual(await store.micros.byId(second.id), second);
        assert.deepEqual(await store.micros.byName(project.id, "shared-name"), second);
        assert.equal(await store.micros.byName(project.id, "none"), undefined);
      });

      it("refuse a name the project has with ERR_NAME_TAKEN, on create and rename", async () => {
        const { project, micro } = await owned("named");
        await assert.rejects(
          store.micros.create({ projectId: project.id, name: "named", runtime: "nodejs20" }),
          code("ERR_NAME_TAKEN", /micro named named/),
        );
        const other = await store.micros.create({ projectId: project.id, name: "other", runtime: "nodejs20" });
        await assert.rejects(store.micros.rename(other.id, "named"), code("ERR_NAME_TAKEN"));
        await store.micros.rename(micro.id, "renamed");
        assert.equal((await store.micros.byId(micro.id))?.name, "renamed");
        assert.equal((await store.micros.byId(micro.id))?.subdomain, "named", "the subdomain never changes");
      });

      it("are listed by owner, in one project or all", async () => {
        const user = await store.users.create("lister", false);
        const p1 = await store.projects.create(user.id, "p1");
        const p2 = await store.projects.create(user.id, "p2");
        await store.micros.create({ projectId: p2.id, name: "list-b", runtime: "nodejs20" });
        await store.micros.create({ projectId: p1.id, name: "list-a", runtime: "nodejs20" });
        const names = async (projectId?: string) =>
          (await store.micros.listByOwner(user.id, projectId)).map((micro) => micro.name);
        assert.deepEqual(await names(), ["list-a", "list-b"]);
        assert.deepEqual(await names(p2.id), ["list-b"]);
      });

      it("keep their settings, and the gateway's lookup sees each change at once", async () => {
        const { micro } = await owned("lookup");
        // The same object until it changes (PostgreSQL also hears of its own insert a moment later, and reads again).
        const looked = await waitFor("the lookup to be answered from memory", () => cachedLookup(store, "lookup"));
        assert.ok(Object.isFrozen(looked));
        assert.equal(await store.micros.bySubdomain("nowhere"), undefined);
        await store.micros.setHttpAuth(micro.id, true);
        assert.equal((await store.micros.bySubdomain("lookup"))?.httpAuth, true);
        await store.micros.setVisor(micro.id, true);
        assert.equal((await store.micros.bySubdomain("lookup"))?.visor, true);
        await store.micros.setRuntime(micro.id, "nodejs22");
        assert.equal((await store.micros.bySubdomain("lookup"))?.runtime, "nodejs22");
        const limits = { memoryBytes: 256 * 1024 * 1024, timeoutMs: 30_000, requestBodyBytes: null };
        await store.micros.setLimits(micro.id, limits);
        assert.deepEqual((await store.micros.bySubdomain("lookup"))?.limits, limits);
        const release = await store.releases.activate({
          id: store.releases.newId(),
          microId: micro.id,
          codeBytes: 1,
          fileCount: 1,
          install: "none",
        });
        assert.equal((await store.micros.bySubdomain("lookup"))?.currentReleaseId, release.id);
        await store.micros.delete(micro.id);
        assert.equal(await store.micros.bySubdomain("lookup"), undefined);
        assert.equal(await store.micros.byId(micro.id), undefined);
      });
    });

    describe("releases", () => {
      it("are numbered per micro, made current, listed newest first and pruned, never the current one", async () => {
        const { micro } = await owned("releasing");
        const activate = (fileCount: number) =>
          store.releases.activate({
            id: store.releases.newId(),
            microId: micro.id,
            codeBytes: 1000 * fileCount,
            fileCount,
            install: "npm ci",
          });
        const v1 = await activate(1);
        const v2 = await activate(2);
        const v3 = await activate(3);
        assert.deepEqual([v1.version, v2.version, v3.version], [1, 2, 3]);
        assert.deepEqual(await store.releases.byId(v2.id), v2);
        assert.equal(await store.releases.byId("none"), undefined);
        assert.equal((await store.micros.byId(micro.id))?.currentReleaseId, v3.id);
        assert.deepEqual(
          (await store.releases.list(micro.id)).map((release) => release.version),
          [3, 2, 1],
        );
        await store.releases.makeCurrent(micro.id, v1.id);
        assert.equal((await store.micros.byId(micro.id))?.currentReleaseId, v1.id);
        assert.deepEqual((await store.releases.prune(micro.id, 2)).sort(), [v2.id].sort());
        assert.deepEqual(
          (await store.releases.list(micro.id)).map((release) => release.version),
          [3, 1],
          "the newest and the current are kept",
        );
        const v4 = await activate(4);
        assert.equal(v4.version, 4);
      });
    });

    describe("environment variables", () => {
      it("are set, removed and replaced as sealed values", async () => {
        const { micro } = await owned("env");
        const sealed = (text: string) => Buffer.from(text);
        await store.envVars.update(
          micro.id,
          [
            { key: "B", value: sealed("b") },
            { key: "A", value: sealed("a") },
          ],
          [],
        );
        assert.deepEqual(await store.envVars.names(micro.id), ["A", "B"]);
        await store.envVars.update(micro.id, [{ key: "A", value: sealed("a2") }], ["B", "MISSING"]);
        assert.deepEqual(await store.envVars.sealed(micro.id), [{ key: "A", value: sealed("a2") }]);
        await store.envVars.replace(micro.id, [{ key: "C", value: Buffer.from([0, 1, 255]) }]);
        assert.deepEqual(await store.envVars.sealed(micro.id), [{ key: "C", value: Buffer.from([0, 1, 255]) }]);
        await store.envVars.replace(micro.id, []);
        assert.deepEqual(await store.envVars.names(micro.id), []);
      });
    });

    describe("API keys", () => {
      it("open their micro only, are listed by name, deleted, and refuse a second of one name", async () => {
        const { micro } = await owned("keyed");
        const other = await owned("keyed-other");
        const { key, apiKey } = await store.apiKeys.create(micro.id, "ci", "for CI");
        assert.equal(key.split(".")[0], apiKey.prefix);
        assert.deepEqual(await store.apiKeys.byName(micro.id, "ci"), apiKey);
        assert.equal(await store.apiKeys.byName(micro.id, "none"), undefined);
        assert.equal(await store.apiKeys.opens(micro.id, key), true);
        assert.equal(await store.apiKeys.opens(other.micro.id, key), false);
        assert.equal(await store.apiKeys.opens(micro.id, `${key}x`), false);
        await assert.rejects(store.apiKeys.create(micro.id, "ci", ""), code("ERR_NAME_TAKEN", /API key named ci/));
        await store.apiKeys.create(micro.id, "a", "");
        assert.deepEqual(
          (await store.apiKeys.list(micro.id)).map((k) => k.name),
          ["a", "ci"],
        );
        assert.equal(await store.apiKeys.delete(micro.id, "ci"), true);
        assert.equal(await store.apiKeys.delete(micro.id, "ci"), false);
        assert.equal(await store.apiKeys.opens(micro.id, key), false);
      });
    });

    describe("logs", () => {
      it("are appended with rising ids, listed oldest first from the newest, and trimmed", async () => {
        const { micro } = await owned("logging");
        const lines = Array.from({ length: 10 }, (_, i) => ({
          microId: micro.id,
          ts: 1000 + i,
          source: i % 2 ? ("stderr" as const) : ("stdout" as const),
          instanceId: i === 0 ? null : "i1",
          message: `line ${i}`,
        }));
        const stored = await store.logs.append(lines);
        assert.deepEqual(
          stored.map(({ id: _, ...line }) => line),
          lines,
        );
        const ids = stored.map((line) => line.id);
        assert.deepEqual(
          ids,
          [...ids].sort((a, b) => a - b),
        );
        assert.equal(new Set(ids).size, 10);
        assert.deepEqual(await store.logs.append([]), []);
        const listed = await store.logs.list(micro.id, { limit: 3 });
        assert.deepEqual(
          listed.map((line) => line.message),
          ["line 7", "line 8", "line 9"],
        );
        assert.deepEqual(listed[0], stored[7]);
        assert.equal((await store.logs.list(micro.id, { sinceTs: 1008, limit: 100 })).length, 2);
        // A follower on another node reads on from the last line it saw, oldest first.
        assert.deepEqual(await store.logs.after(micro.id, ids[6] as number, 2), stored.slice(7, 9));
        assert.deepEqual(await store.logs.after(micro.id, ids[9] as number, 2), []);
        assert.equal(await store.logs.lastId(micro.id), ids[9]);
        assert.equal(await store.logs.lastId((await owned("silent")).micro.id), 0);
        await store.logs.trim(micro.id, 4);
        assert.deepEqual(
          (await store.logs.list(micro.id, { limit: 100 })).map((line) => line.message),
          ["line 6", "line 7", "line 8", "line 9"],
        );
      });
    });

    describe("requests", () => {
      it("are appended, listed oldest first from the newest, found by id, counted and trimmed", async () => {
        const { user, micro } = await owned("visor");
        await store.requests.append([
          request(micro.id, 1000, "/a"),
          request(micro.id, 2000, "/b", 500),
          request(micro.id, 3000, "/c", 502),
          { ...request(micro.id, 4000, "/d"), cold: false, timings: null, requestHeaders: null, requestBody: null },
        ]);
        await store.requests.append([]);
        const listed = await store.requests.list(micro.id, 3);
        assert.deepEqual(
          listed.map((r) => r.path),
          ["/b", "/c", "/d"],
        );
        const first = listed[0];
        assert.ok(first);
        const { id, ...record } = first;
        assert.deepEqual(record, request(micro.id, 2000, "/b", 500));
        assert.deepEqual(await store.requests.byId(micro.id, id), first);
        assert.equal(await store.requests.byId("another", id), undefined);
        const last = listed[2];
        assert.equal(last?.cold, false);
        assert.equal(last?.requestBody, null);
        assert.deepEqual(await store.requests.countsSince(user.id, 2000), [
          { microId: micro.id, requests: 3, errors: 2 },
        ]);
        assert.deepEqual(await store.requests.countsSince(user.id, 5000), []);
        await store.requests.trim(micro.id, 10, 2000);
        assert.deepEqual(
          (await store.requests.list(micro.id, 10)).map((r) => r.path),
          ["/b", "/c", "/d"],
          "none older than the age limit",
        );
        await store.requests.trim(micro.id, 2, 0);
        assert.deepEqual(
          (await store.requests.list(micro.id, 10)).map((r) => r.path),
          ["/c", "/d"],
          "at most the newest kept",
        );
      });
    });

    describe("schedules", () => {
      it("are set once per micro, listed by when they fire next, marked as run and removed", async () => {
        const { micro } = await owned("cron-a");
        const other = await owned("cron-b");
        await store.schedules.set(micro.id, "1 minute", 5000);
        await store.schedules.set(micro.id, "5 minutes", 9000);
        await store.schedules.set(other.micro.id, "2 minutes", 7000);
        assert.deepEqual(await store.schedules.get(micro.id), {
          microId: micro.id,
          expression: "5 minutes",
          nextRunAt: 9000,
          lastRunAt: null,
        });
        const mine = (await store.schedules.all()).filter(
          (row) => row.microId === micro.id || row.microId === other.micro.id,
        );
        assert.deepEqual(
          mine.map((row) => row.nextRunAt),
          [7000, 9000],
        );
        // One claim of a due run wins; a second for the same run, or one for a run already moved on, does not.
        const claims = await Promise.all([
          store.schedules.claim(micro.id, 9000, 9000, 12_000),
          store.schedules.claim(micro.id, 9000, 9001, 12_001),
        ]);
        assert.deepEqual(claims.sort(), [false, true]);
        assert.equal(await store.schedules.claim(micro.id, 9000, 9002, 12_002), false);
        const claimed = await store.schedules.get(micro.id);
        assert.ok(
          (claimed?.nextRunAt === 12_000 && claimed.lastRunAt === 9000) ||
            (claimed?.nextRunAt === 12_001 && claimed.lastRunAt === 9001),
          JSON.stringify(claimed),
        );
        assert.equal(await store.schedules.remove(micro.id), true);
        assert.equal(await store.schedules.remove(micro.id), false);
        assert.equal(await store.schedules.get(micro.id), undefined);
      });
    });

    describe("domains", () => {
      it("belong to one micro platform-wide, route to its subdomain, and go with it", async () => {
        const { micro } = await owned("hosted");
        const other = await owned("hosted-other");
        const added = await store.domains.add(micro.id, "b.example.com");
        assert.equal(added.host, "b.example.com");
        assert.equal(added.microId, micro.id);
        await store.domains.add(micro.id, "a.example.com");
        await assert.rejects(
          store.domains.add(micro.id, "a.example.com"),
          code("ERR_DOMAIN_TAKEN", /already a domain of this micro/),
        );
        await assert.rejects(
          store.domains.add(other.micro.id, "a.example.com"),
          code("ERR_DOMAIN_TAKEN", /domain of another micro/),
        );
        assert.deepEqual(
          (await store.domains.forMicro(micro.id)).map((domain) => domain.host),
          ["a.example.com", "b.example.com"],
        );
        assert.ok((await store.domains.hosts()).includes("a.example.com"));
        assert.equal((await store.domains.routes()).get("a.example.com"), "hosted");
        assert.equal(await store.domains.remove(micro.id, "a.example.com"), true);
        assert.equal(await store.domains.remove(micro.id, "a.example.com"), false);
        assert.equal((await store.domains.routes()).get("a.example.com"), undefined);
        await store.micros.delete(micro.id);
        assert.equal((await store.domains.routes()).get("b.example.com"), undefined);
        assert.deepEqual(await store.domains.forMicro(micro.id), []);
      });
    });
  });
}

describe("PostgreSQL migrations", { skip: IMPLEMENTATIONS[1]?.skip }, () => {
  it("run once when several servers open one database at once, under the advisory lock", async () => {
    const database = await createTestDatabase();
    after(() => database.drop());
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(database.url)));
    await Promise.all(stores.map((opened) => opened.close()));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>(
        "SELECT version FROM schema_migrations ORDER BY version",
      );
      assert.deepEqual(
        rows.map((row) => row.version),
        PG_MIGRATIONS.map((_, index) => index + 1),
      );
    } finally {
      await client.end();
    }
  });

  it("refuse a database the server cannot reach with ERR_DATABASE_UNUSABLE, its password hidden", async () => {
    await assert.rejects(
      PostgresStore.open("postgres://micros:secret-password@127.0.0.1:1/none"),
      (err: unknown) =>
        err instanceof MicrosError &&
        err.code === "ERR_DATABASE_UNUSABLE" &&
        !err.message.includes("secret-password") &&
        err.message.includes("postgres://micros:***@127.0.0.1:1/none"),
    );
  });
});

describe("two servers on one PostgreSQL database", { skip: IMPLEMENTATIONS[1]?.skip }, () => {
  it("see each other's writes in the gateway's cached lookups, also after the listening connection is cut", async () => {
    const database = await createTestDatabase();
    const [a, b] = await Promise.all([PostgresStore.open(database.url), PostgresStore.open(database.url)]);
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await database.drop();
    });
    const user = await a.users.create("ada", false);
    const project = await a.projects.create(user.id, "default");
    const micro = await a.micros.create({ projectId: project.id, name: "shared", runtime: "nodejs20" });
    // A's insert is heard by B a moment later, which empties B's cache once more; then B answers from memory.
    const seen = await waitFor("B to answer from memory", () => cachedLookup(b, "shared"));
    assert.equal(seen.httpAuth, false);

    await a.micros.setHttpAuth(micro.id, true);
    await waitFor("B to see A's setting", async () => (await b.micros.bySubdomain("shared"))?.httpAuth || undefined);
    assert.equal((await b.domains.routes()).size, 0);
    await a.domains.add(micro.id, "shared.example.com");
    await waitFor("B to route A's domain", async () => (await b.domains.routes()).get("shared.example.com"));

    // Every listening connection is cut: until each server listens again it keeps nothing, so no write is missed.
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const listeners = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`;
      const cut = await admin.query(`SELECT pg_terminate_backend(pid) FROM (${listeners}) AS listening`);
      assert.equal(cut.rowCount, 2);
      await b.micros.bySubdomain("shared");
      await a.micros.setVisor(micro.id, true);
      await waitFor("B to see A's write made while it was not listening", async () => {
        return (await b.micros.bySubdomain("shared"))?.visor || undefined;
      });
      await waitFor("both servers to listen again", async () => {
        return (await admin.query(listeners)).rowCount === 2 || undefined;
      });
    } finally {
      await admin.end();
    }
    assert.equal((await waitFor("B to keep what it reads again", () => cachedLookup(b, "shared"))).visor, true);

    // A cascade is heard too: deleting the user takes its micro and the micro's domain.
    await a.users.delete(user.id);
    await waitFor("B to forget the micro", async () => ((await b.micros.bySubdomain("shared")) ? undefined : true));
    assert.equal((await b.domains.routes()).size, 0);
  });
});
