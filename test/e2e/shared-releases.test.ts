/**
 * Two servers (two data dirs) on one PostgreSQL database, as two nodes of a cluster: a release built by one is
 * served, rolled back, cloned and built upon through the other, after the first and its data dir are gone.
 */
import assert from "node:assert/strict";
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  onCleanup,
  request,
  useServer,
  useTmpDir,
} from "../helpers/micros.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../helpers/postgres.js";

describe("releases on a cluster: a node serves what another built, without its disk", {
  skip: TEST_DATABASE_URL
    ? undefined
    : "MICROS_TEST_DATABASE_URL is not set: set it to a PostgreSQL URL whose role may create databases (such as postgres://micros:micros@127.0.0.1:5432/postgres) to run two servers on one database",
}, () => {
  let builder: MicrosServer;
  let other: MicrosServer;
  let dir: string;
  const version = async (server: MicrosServer) => {
    const res = await request(server.port, `shared.localhost:${server.port}`, "/");
    assert.equal(res.status, 200, res.body);
    return (JSON.parse(res.body) as { version: string }).version;
  };
  const setVersion = async (folder: string, to: string) => {
    const source = await readFile(join(folder, "index.js"), "utf8");
    await writeFile(join(folder, "index.js"), source.replace(/const version = "[a-z]+"/, `const version = "${to}"`));
  };

  before(async () => {
    const database = await createTestDatabase();
    // Registered first, so it runs after both servers have stopped (cleanups run in reverse).
    onCleanup(() => database.drop());
    builder = await useServer(["--database", database.url]);
    // Values in the database (project keys, environment variables) are sealed with <data-dir>/secret-key, and
    // nodes do not share one yet: the operator gives the second node a copy of the first one's.
    const otherDir = await useTmpDir("micros-data-");
    await copyFile(join(builder.dataDir, "secret-key"), join(otherDir, "secret-key"));
    // The admin is the first server's: only it wrote the token, to its own data dir.
    other = await useServer(["--database", database.url], {}, otherDir, { token: builder.token });
    dir = await copyApp("boot-id", "shared");
  });

  it("serves through the other node what was deployed through the first, once the first and its disk are gone", async () => {
    const env = loggedIn(builder, await useTmpDir());
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    await setVersion(dir, "two");
    const deployed = await cli(["deploy"], { cwd: dir, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.equal(await version(builder), "two");
    assert.equal(await builder.stop(), 0);
    await rm(builder.dataDir, { recursive: true, force: true });
    assert.equal(await version(other), "two");
  });

  it("rolls back through the other node to a release it never had", async () => {
    const env = loggedIn(other, await useTmpDir());
    const back = await cli(["rollback"], { cwd: dir, env });
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /release v1 serves now/);
    assert.equal(await version(other), "one");
  });

  it("clones the current release's files from the other node, and builds an upload of changes on it", async () => {
    const env = loggedIn(other, await useTmpDir());
    const target = join(await useTmpDir(), "cloned");
    const cloned = await cli(["clone", "--name", "shared", target], { cwd: dir, env });
    assert.equal(cloned.code, 0, cloned.stderr);
    assert.match(await readFile(join(target, "index.js"), "utf8"), /const version = "one"/);
    await setVersion(dir, "three");
    const deployed = await cli(["deploy"], { cwd: dir, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stderr, /Sending 1 changed file/);
    assert.equal(await version(other), "three");
  });
});
