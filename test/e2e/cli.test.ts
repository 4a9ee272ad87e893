import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("the CLI a Deta user knows: projects, releases, rollback, update -e, delete", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let host: string;
  const version = async () => JSON.parse((await request(server.port, host, "/")).body).version as string;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    dir = await copyApp("boot-id", "cli-app");
    host = `cli-app.localhost:${server.port}`;
  });

  it("`projects` lists and `projects create` makes projects; a taken name is refused", async () => {
    assert.match((await cli(["projects"], { cwd: dir, env })).stdout, /No projects yet/);
    const created = await cli(["projects", "create", "shop"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    assert.match((await cli(["projects"], { cwd: dir, env })).stdout, /^shop +created /m);
    const again = await cli(["projects", "create", "shop"], { cwd: dir, env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /You already have a project named shop/);
  });

  it("`releases` lists the kept releases and `rollback` switches between them at once", async () => {
    assert.equal((await cli(["new", "--project", "shop"], { cwd: dir, env })).code, 0);
    const source = await readFile(join(dir, "index.js"), "utf8");
    await writeFile(join(dir, "index.js"), source.replace('const version = "one"', 'const version = "two"'));
    assert.equal((await cli(["deploy"], { cwd: dir, env })).code, 0);
    assert.equal(await version(), "two");

    const list = (await cli(["releases"], { cwd: dir, env })).stdout.trim().split("\n");
    assert.equal(list.length, 2);
    assert.match(list[0] ?? "", /^\* v2 /);
    assert.match(list[1] ?? "", /^ {2}v1 /);

    const back = await cli(["rollback"], { cwd: dir, env });
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /Rolled back cli-app: release v1 serves now/);
    assert.equal(await version(), "one");
    assert.equal((await cli(["rollback", "v2"], { cwd: dir, env })).code, 0);
    assert.equal(await version(), "two");

    const missing = await cli(["rollback", "v9"], { cwd: dir, env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No kept release v9\. Kept releases: v2, v1\./);
  });

  it("`update -e` sets the environment without a redeploy; a bad line changes nothing", async () => {
    await writeFile(join(dir, ".env"), '# settings\nexport GREETING="hello, env"\n');
    const set = await cli(["update", "-e", ".env"], { cwd: dir, env });
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /Environment: GREETING \(values are never shown\)/);
    const seen = async () => JSON.parse((await request(server.port, host, "/")).body).env.GREETING as string | null;
    assert.equal(await seen(), "hello, env");

    await writeFile(join(dir, "broken.env"), "GREETING=changed\nthis is not a setting\n");
    const bad = await cli(["update", "-e", "broken.env"], { cwd: dir, env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /broken\.env, line 2: expected KEY=value\. Nothing was changed\./);
    assert.equal(await seen(), "hello, env");
  });

  it("`update -n` renames a micro and keeps its endpoint; `-r` refuses another language", async () => {
    const renamed = await cli(["update", "-n", "cli-renamed", "--json"], { cwd: dir, env });
    assert.equal(renamed.code, 0, renamed.stderr);
    const micro = JSON.parse(renamed.stdout) as { name: string; endpoint: string };
    assert.equal(micro.name, "cli-renamed");
    assert.equal(micro.endpoint, `http://cli-app.localhost:${server.port}`);
    assert.equal(JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")).name, "cli-renamed");
    assert.equal((await request(server.port, host, "/")).status, 200);
    const python = await cli(["update", "-r", "python"], { cwd: dir, env });
    assert.equal(python.code, 1);
    assert.match(python.stderr, /is a node micro; it cannot switch to python3\.\d+/);
    assert.equal((await cli(["update", "-n", "cli-app"], { cwd: dir, env })).code, 0);
  });

  it("`projects rotate-key` gives the project's micros a new key", async () => {
    const key = async () => JSON.parse((await request(server.port, host, "/")).body).env.MICROS_PROJECT_KEY as string;
    const before = await key();
    const rotated = await cli(["projects", "rotate-key", "shop"], { cwd: dir, env });
    assert.equal(rotated.code, 0, rotated.stderr);
    const after = await key();
    assert.notEqual(after, before);
    assert.equal(after.split("_")[0], before.split("_")[0], "still the same project's key");
  });

  it("`clone` fetches a micro whose .micros/ folder was lost, and `pull` restores its files", async () => {
    const deployed = await readFile(join(dir, "index.js"), "utf8");
    const lost = await copyApp("boot-id", "lost");
    const orphan = await cli(["details"], { cwd: lost, env });
    assert.match(orphan.stderr, /Run `micros new` to create one, or `micros clone --name <name>`/);

    const target = join(await useTmpDir(), "restored");
    const cloned = await cli(["clone", "--name", "cli-app", "--project", "shop", target], { cwd: dir, env });
    assert.equal(cloned.code, 0, cloned.stderr);
    assert.equal(await readFile(join(target, "index.js"), "utf8"), deployed);
    assert.match((await cli(["details"], { cwd: target, env })).stdout, /name: +cli-app/);
    const missing = await cli(["clone", "--name", "no-such-micro"], { cwd: target, env });
    assert.match(missing.stderr, /No micro named no-such-micro in project default/);

    await writeFile(join(target, "index.js"), "broken locally");
    const unasked = await cli(["pull"], { cwd: target, env });
    assert.equal(unasked.code, 1);
    assert.match(unasked.stderr, /pass --force/);
    assert.equal((await cli(["pull", "--force"], { cwd: target, env })).code, 0);
    assert.equal(await readFile(join(target, "index.js"), "utf8"), deployed);
  });

  it("`delete` asks first, then removes the micro and its .micros/ folder, leaving the code", async () => {
    const unconfirmed = await cli(["delete"], { cwd: dir, env });
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /pass --yes/);
    const deleted = await cli(["delete", "--yes"], { cwd: dir, env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await request(server.port, host, "/")).status, 404);
    await assert.rejects(stat(join(dir, ".micros")));
    assert.ok((await stat(join(dir, "index.js"))).isFile());
    const details = await cli(["details"], { cwd: dir, env });
    assert.match(details.stderr, /No micro in .*: it has no \.micros\/ folder/);
  });
});
