/**
 * What a Deta user types and expects, through the real CLI and server: Deta's upload rules (no hidden files,
 * `.detaignore`), the DETA_ variables an app may set, `deploy purge-dependencies`, `visor open`, `new -n/-p`,
 * `cron set [path] <expression>` with AWS's `#`, and a `[path]` that does not exist.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { packFiles } from "../../src/cli/pack.js";
import type { ReleaseView } from "../../src/shared/api.js";
import { api, cli, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("the CLI as a Deta user types it", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let microId: string;
  let host: string;
  const files = async () =>
    Object.keys(
      (await api<{ files: Record<string, string> }>(server, `/v1/micros/${microId}/releases/current/files`)).body.files,
    ).sort();
  const latest = async () =>
    (JSON.parse((await cli(["releases", "--json"], { cwd: dir, env })).stdout) as ReleaseView[])[0] as ReleaseView;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    dir = join(await useTmpDir(), "deta-app");
    const app: Record<string, string> = {
      "index.js": `module.exports = (req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ dep: require("dep"), base: process.env.DETA_BASE_HOST ?? null }));
};`,
      "package.json": JSON.stringify({ name: "deta-app", version: "1.0.0", dependencies: { dep: "file:./dep" } }),
      "dep/package.json": JSON.stringify({ name: "dep", version: "1.0.0" }),
      "dep/index.js": "module.exports = 'local';",
      ".env.production": "SECRET=production",
      ".npmrc": "//registry.npmjs.org/:_authToken=npm_not-for-the-release",
      ".aws/credentials": "[default]\naws_secret_access_key=not-for-the-release",
      ".detaignore": "^notes/\n",
      "notes/todo.txt": "a note",
    };
    for (const [path, text] of Object.entries(app)) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    host = `deta-app.localhost:${server.port}`;
  });

  it("does not upload hidden files or what .detaignore names, and says which hidden files it skipped", async () => {
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stderr,
      /Skipped 3 hidden files \(\.aws\/credentials, \.env\.production, \.npmrc\): hidden files are not uploaded/,
    );
    microId = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")).id;
    assert.deepEqual(await files(), ["dep/index.js", "dep/package.json", "index.js", "package.json"]);
    assert.equal(JSON.parse((await request(server.port, host, "/")).body).dep, "local");
  });

  it("deletes a hidden file that an earlier release had, instead of keeping it", async () => {
    // A release uploaded as earlier versions of the CLI did, .npmrc included.
    const archive = await packFiles(dir, ["dep/index.js", "dep/package.json", "index.js", "package.json", ".npmrc"]);
    const uploaded = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${microId}/releases`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/gzip" },
      body: archive,
    });
    assert.equal(uploaded.status, 201, await uploaded.text());
    assert.ok((await files()).includes(".npmrc"));

    const deployed = await cli(["deploy"], { cwd: dir, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(
      deployed.stderr,
      /The release serving now has 1 hidden file \(\.npmrc\); the new release leaves it out/,
    );
    assert.match(deployed.stderr, /Sending 0 changed files \(4 unchanged, 1 deleted;/);
    assert.deepEqual(await files(), ["dep/index.js", "dep/package.json", "index.js", "package.json"]);
  });

  it("`deploy purge-dependencies` sends every file and installs the dependencies from scratch", async () => {
    await writeFile(join(dir, "index.js"), (await readFile(join(dir, "index.js"), "utf8")).replace("dep:", "dep2:"));
    assert.equal((await cli(["deploy"], { cwd: dir, env })).code, 0);
    assert.equal((await latest()).install, "reused", "a plain deploy reuses the install");
    const purged = await cli(["deploy", "purge-dependencies"], { cwd: dir, env });
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stderr, /Purging the dependencies of deta-app/);
    assert.match(purged.stderr, /Sending all 4 files/);
    const release = await latest();
    assert.notEqual(release.install, "reused");
    assert.notEqual(release.install, "cached");
    assert.equal(JSON.parse((await request(server.port, host, "/")).body).dep2, "local");
  });

  it("`update -e` sets the DETA_ names the platform does not set, and refuses those it sets", async () => {
    await writeFile(join(dir, "base.env"), "DETA_BASE_HOST=base.example.com\n");
    const set = await cli(["update", "-e", "base.env"], { cwd: dir, env });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(JSON.parse((await request(server.port, host, "/")).body).base, "base.example.com");
    await writeFile(join(dir, "path.env"), "DETA_PATH=elsewhere\n");
    const refused = await cli(["update", "-e", "path.env"], { cwd: dir, env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /DETA_PATH is reserved: the platform sets DETA_PATH in every instance/);
  });

  it("`cron set [path] <expression>` in Deta's order and Micros', with AWS's `#` for the nth weekday", async () => {
    const deta = await cli(["cron", "set", dir, "0 12 ? * 6#3 *", "--json"], { cwd: join(dir, ".."), env });
    assert.equal(deta.code, 0, deta.stderr);
    const next = new Date((JSON.parse(deta.stdout) as { cron: { nextRun: string } }).cron.nextRun);
    assert.equal(next.getUTCDay(), 5, "a Friday");
    assert.ok(next.getUTCDate() >= 15 && next.getUTCDate() <= 21, `the third one, not ${next.toISOString()}`);

    const micros = await cli(["cron", "set", "5 minutes", "-p", dir], { cwd: join(dir, ".."), env });
    assert.equal(micros.code, 0, micros.stderr);
    assert.match(micros.stdout, /Scheduled deta-app for "5 minutes"/);

    const split = await cli(["cron", "set", "5", "minutes"], { cwd: dir, env });
    assert.equal(split.code, 1);
    assert.match(split.stderr, /the schedule in quotes: micros cron set "5 minutes"/);

    const removed = await cli(["cron", "remove", dir], { cwd: join(dir, ".."), env });
    assert.equal(removed.code, 0, removed.stderr);
  });

  it("`visor enable [path]` and `visor open` print the recorded requests", async () => {
    const enabled = await cli(["visor", "enable", dir], { cwd: join(dir, ".."), env });
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await request(server.port, host, "/opened")).status, 200);
    const opened = await cli(["visor", "open"], { cwd: dir, env });
    assert.equal(opened.code, 0, opened.stderr);
    assert.match(opened.stderr, /no visor page to open in a browser yet/);
    assert.match(opened.stdout, /GET +200 .*\/opened/);
  });

  it("a [path] that does not exist is an error, never the micro of the folder around it", async () => {
    for (const args of [
      ["details", "typo"],
      ["deploy", "./typo"],
      ["logs", "typo"],
      ["cron", "remove", "typo"],
    ]) {
      const result = await cli(args, { cwd: dir, env });
      assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}`);
      assert.match(result.stderr, /There is no folder (\.\/)?typo \(/);
    }
    const file = await cli(["details", "index.js"], { cwd: dir, env });
    assert.equal(file.code, 1);
    assert.match(file.stderr, /index\.js is a file, not a folder/);
  });

  it("`new -n` and `-p` are --node and --python", async () => {
    const empty = join(await useTmpDir(), "empty");
    await mkdir(empty);
    const both = await cli(["new", "-n", "-p"], { cwd: empty, env });
    assert.equal(both.code, 1);
    assert.match(both.stderr, /Choose one of --node and --python, not both/);
    const node = await cli(["new", "-n", "--json"], { cwd: empty, env });
    assert.equal(node.code, 0, node.stderr);
    assert.match(node.stderr, /Wrote a starter app \(index\.js\)/);
  });
});
