import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import type { MicroView, TokenView, UserListView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  databaseOf,
  loggedIn,
  type MicrosServer,
  processesIn,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

interface ErrorAnswer {
  error: { code: string; message: string };
}

/** How many bases and drives the server keeps for the project, wherever its store keeps them. */
async function dataOf(server: MicrosServer, projectId: string): Promise<number[]> {
  const url = databaseOf(server.dataDir);
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const count = async (table: string) =>
        (await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE project_id = $1`, [projectId])).rows[0]
          .n as number;
      return [await count("bases"), await count("drives")];
    } finally {
      await client.end();
    }
  }
  const data = new Database(join(server.dataDir, "data.db"), { readonly: true });
  try {
    const count = (table: string) =>
      (data.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE project_id = ?`).get(projectId) as { n: number }).n;
    return [count("bases"), count("drives")];
  } finally {
    data.close();
  }
}

describe("micros list, users and tokens", () => {
  let server: MicrosServer;
  let admin: NodeJS.ProcessEnv;
  let bob: NodeJS.ProcessEnv;
  let bobToken: string;
  let dir: string;
  let host: string;
  /** The CLI as someone holding `token`. */
  const as = (token: string): NodeJS.ProcessEnv => ({ ...admin, MICROS_ACCESS_TOKEN: token });

  before(async () => {
    // Plain processes, so the micro's instance is found by its folder (the sandbox binds the release elsewhere).
    server = await useServer(["--sandbox", "none"]);
    admin = loggedIn(server, await useTmpDir());
    dir = await copyApp("boot-id", "bobs-app");
    host = `bobs-app.localhost:${server.port}`;
  });

  it("an admin creates a user, whose first token is printed once; a non-admin cannot manage users", async () => {
    const created = await cli(["users", "create", "bob"], { cwd: dir, env: admin });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Created the user bob\. Their access token follows, shown only now/);
    bobToken = created.stdout.trim();
    assert.match(bobToken, /^micros_\S+$/);
    bob = as(bobToken);

    const listed = await cli(["users", "list", "--json"], { cwd: dir, env: admin });
    const users = JSON.parse(listed.stdout) as UserListView[];
    assert.deepEqual(
      users.map(({ name, isAdmin }) => ({ name, isAdmin })),
      [
        { name: "admin", isAdmin: true },
        { name: "bob", isAdmin: false },
      ],
    );
    assert.match((await cli(["users", "list"], { cwd: dir, env: admin })).stdout, /^bob +no +\d{4}-\d\d-\d\d /m);

    const refused = await cli(["users", "create", "eve"], { cwd: dir, env: bob });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Only an admin can create users; you \(bob\) are not one/);
    const listing = await api<ErrorAnswer>(server, "/v1/users", bobToken);
    assert.equal(listing.status, 403);
    assert.equal(listing.body.error.code, "ERR_FORBIDDEN");
  });

  it("`list` shows every micro of the caller, as a table and as the views `details --json` gives", async () => {
    assert.match((await cli(["list"], { cwd: dir, env: bob })).stdout, /No micros yet/);
    const created = await cli(["new"], { cwd: dir, env: bob });
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await request(server.port, host)).status, 200);

    const table = (await cli(["list"], { cwd: dir, env: bob })).stdout.trim().split("\n");
    assert.match(table[0] ?? "", /^PROJECT +NAME +RUNTIME +ENDPOINT +RELEASE +INSTANCES$/);
    assert.match(
      table[1] ?? "",
      new RegExp(`^default +bobs-app +nodejs\\d+ +http://bobs-app\\.localhost:${server.port} +v1 +1$`),
    );
    const listed = JSON.parse((await cli(["list", "--json"], { cwd: dir, env: bob })).stdout) as MicroView[];
    const details = JSON.parse((await cli(["details", "--json"], { cwd: dir, env: bob })).stdout) as MicroView;
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0], details);
    assert.equal(listed[0]?.endpoint, `http://bobs-app.localhost:${server.port}`);
    assert.deepEqual(JSON.parse((await cli(["list", "--json"], { cwd: dir, env: admin })).stdout), [], "bob's only");
  });

  it("a user's own tokens: created once, listed without the secret, unique by name, revoked at once", async () => {
    const created = await cli(["tokens", "create", "laptop", "--expires", "30d"], { cwd: dir, env: bob });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /Created the token laptop \(valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    const laptop = created.stdout.trim();
    assert.equal((await cli(["list"], { cwd: dir, env: as(laptop) })).code, 0, "an expiring token works before then");

    const again = await cli(["tokens", "create", "laptop"], { cwd: dir, env: bob });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already has a token named laptop/);
    const wrong = await cli(["tokens", "create", "later", "--expires", "soon"], { cwd: dir, env: bob });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /expires must be a duration from now \(45s, 90m, 12h, 30d\) or a date/);

    const tokens = JSON.parse((await cli(["tokens", "list", "--json"], { cwd: dir, env: bob })).stdout) as TokenView[];
    assert.deepEqual(
      tokens.map(({ name, expired }) => ({ name, expired })),
      [
        { name: "initial", expired: false },
        { name: "laptop", expired: false },
      ],
    );
    const laptopView = tokens.find((token) => token.name === "laptop");
    assert.ok(laptopView?.expiresAt && laptopView.lastUsedAt, "used once, expiring");
    assert.ok(laptop.startsWith(laptopView.prefix));
    const table = (await cli(["tokens", "list"], { cwd: dir, env: bob })).stdout;
    assert.match(table, /^NAME +PREFIX +CREATED +LAST USED +EXPIRES$/m);
    assert.match(table, /^initial +micros_\S+… +\S+ \S+ UTC +\S+ \S+ UTC +never$/m);
    assert.doesNotMatch(table, new RegExp(laptop.slice(-20)), "the token itself is never shown again");

    const revoked = await cli(["tokens", "revoke", "laptop"], { cwd: dir, env: bob });
    assert.equal(revoked.code, 0, revoked.stderr);
    const refused = await api<ErrorAnswer>(server, "/v1/whoami", laptop);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, "ERR_UNAUTHORIZED");
    const cliRefused = await cli(["list"], { cwd: dir, env: as(laptop) });
    assert.equal(cliRefused.code, 1);
    assert.match(cliRefused.stderr, /The access token is not valid: the server does not know it, or it was revoked/);
    const missing = await cli(["tokens", "revoke", "laptop"], { cwd: dir, env: bob });
    assert.match(missing.stderr, /You have no token named laptop/);
  });

  it("an expired token is refused, saying it expired and how to get a new one", async () => {
    const created = await cli(["tokens", "create", "brief", "--expires", "2s"], { cwd: dir, env: bob });
    assert.equal(created.code, 0, created.stderr);
    const brief = created.stdout.trim();
    const refused = await waitFor("the token to expire", async () => {
      const answer = await api<ErrorAnswer>(server, "/v1/whoami", brief);
      return answer.status === 401 ? answer : undefined;
    });
    assert.equal(refused.body.error.code, "ERR_TOKEN_EXPIRED");
    const cliRefused = await cli(["list"], { cwd: dir, env: as(brief) });
    assert.equal(cliRefused.code, 1);
    assert.match(cliRefused.stderr, /The access token micros_\S+… \(brief\) expired at \S+Z\. Make a new one with/);
    assert.match(cliRefused.stderr, /`micros tokens create <name>` while logged in with a token that is still valid/);
    assert.match(cliRefused.stderr, /or ask an admin for one/);
    assert.match((await cli(["tokens", "list"], { cwd: dir, env: bob })).stdout, /^brief .* expired \S+ \S+ UTC$/m);
  });

  it("the last admin cannot delete themselves", async () => {
    const refused = await cli(["users", "delete", "admin", "--yes"], { cwd: dir, env: admin });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /You cannot delete yourself: admin is the last admin/);
    assert.equal((await api(server, "/v1/whoami")).status, 200);
  });

  it("deleting a user stops their micro's instances, takes it off the air, refuses their tokens and drops their data", async () => {
    const { id } = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")) as { id: string };
    const release = join(server.dataDir, "releases", id);
    assert.equal((await request(server.port, host)).status, 200);
    assert.notDeepEqual(await processesIn(release), [], "the micro's instance runs");
    assert.equal((await cli(["base", "put", "notes", '{"key": "a"}'], { cwd: dir, env: bob })).code, 0);
    await writeFile(join(dir, "photo.txt"), "pixels");
    assert.equal((await cli(["drive", "put", "photos", "photo.txt"], { cwd: dir, env: bob })).code, 0);
    const { body } = await api<{ key: string }>(server, "/v1/projects/default/key", bobToken);
    const projectKey = body.key;
    const projectId = projectKey.split("_")[0] as string;
    const item = () =>
      request(server.port, `localhost:${server.port}`, `/base/v1/${projectId}/notes/items/a`, {
        headers: { "x-api-key": projectKey },
      });
    assert.equal((await item()).status, 200);
    assert.deepEqual(await dataOf(server, projectId), [1, 1], "their Base and Drive data is there");
    const bobId = (await api<{ user: { id: string } }>(server, "/v1/whoami", bobToken)).body.user.id;
    const cached = async () =>
      (
        await Promise.all(
          ["installs", "owners"].map((dir) => readdir(join(server.dataDir, "cache", dir)).catch(() => [])),
        )
      )
        .flat()
        .filter((name) => name.startsWith(bobId));
    assert.notDeepEqual(await cached(), [], "their build left a cache");

    const deleted = await cli(["users", "delete", "bob", "--yes"], { cwd: dir, env: admin });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /Deleted the user bob with 1 project and 1 micro; their tokens no longer work/);

    assert.equal((await request(server.port, host)).status, 404);
    assert.deepEqual(await processesIn(release), [], "no process of the micro is left");
    const refused = await api<ErrorAnswer>(server, "/v1/micros", bobToken);
    assert.equal(refused.status, 401);
    assert.equal((await item()).status, 401, "their project key opens nothing");
    assert.deepEqual(await dataOf(server, projectId), [0, 0], "their Base and Drive data is gone");
    assert.equal(existsSync(join(server.dataDir, "drive", projectId)), false);
    assert.deepEqual(await cached(), [], "their build caches are gone");
    const users = JSON.parse(
      (await cli(["users", "list", "--json"], { cwd: dir, env: admin })).stdout,
    ) as UserListView[];
    assert.deepEqual(
      users.map((user) => user.name),
      ["admin"],
    );
    const again = await cli(["users", "delete", "bob", "--yes"], { cwd: dir, env: admin });
    assert.match(again.stderr, /There is no user named bob/);
  });
});
