import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";
import { slowCli } from "./build-helpers.js";

/**
 * Native Node addons build at deploy: install scripts run in the build sandbox with the host's compilers (and
 * Node's own headers), so a package that compiles C++ at install (better-sqlite3, with no prebuilt binary in
 * reach) works. Alone in its file: compiling SQLite takes minutes on a busy machine, and each file has a time
 * limit. (bcrypt, which picks a prebuilt binary in its install script: build-sandbox.test.ts.)
 */
describe("native Node addons build in the build sandbox", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
  });

  const deployNew = async (dir: string) => {
    const created = await slowCli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    return created.stderr;
  };

  it("better-sqlite3 compiles at install and reads a database shipped with the code, read-only", async () => {
    const dir = await copyApp("builds/native-sqlite", "sqlite");
    // Made with the project's own better-sqlite3, in rollback-journal mode so that a read-only folder serves it.
    const db = new Database(join(dir, "data.db"));
    db.exec("CREATE TABLE greetings (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
    db.prepare("INSERT INTO greetings (id, text) VALUES (?, ?)").run(1, "hello from sqlite");
    db.prepare("INSERT INTO greetings (id, text) VALUES (?, ?)").run(2, "compiled at deploy");
    db.close();
    const stderr = await deployNew(dir);
    assert.match(stderr, /dependencies installed with npm ci/);
    const res = await request(server.port, `sqlite.localhost:${server.port}`, "/?id=2");
    assert.equal(res.status, 200, res.body);
    const body = JSON.parse(res.body) as { text: string; sqlite: string };
    assert.equal(body.text, "compiled at deploy");
    assert.match(body.sqlite, /^3\.\d+\.\d+$/);
  });
});
