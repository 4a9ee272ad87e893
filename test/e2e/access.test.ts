import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { api, cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("private micros and their API keys", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let host: string;
  let instancesBefore: number;

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    dir = await copyApp("boot-id", "private");
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    host = `private.localhost:${server.port}`;
  });

  it("a new micro is public; `auth enable` makes it refuse requests without a key, before starting it", async () => {
    assert.match((await cli(["details"], { cwd: dir, env })).stdout, /http auth: +disabled/);
    const enabled = await cli(["auth", "enable"], { cwd: dir, env });
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.match((await cli(["details"], { cwd: dir, env })).stdout, /http auth: +enabled/);
    const id = JSON.parse(await readFile(join(dir, ".micros", "micro.json"), "utf8")).id as string;
    instancesBefore = (await api<{ micro: { instances: unknown[] } }>(server, `/v1/micros/${id}`)).body.micro.instances
      .length;

    const res = await request(server.port, host);
    assert.equal(res.status, 401);
    const body = JSON.parse(res.body);
    assert.deepEqual(body.errors, ["Unauthorized"], "Deta's shape, for clients written for it");
    assert.equal(body.error.code, "ERR_UNAUTHORIZED");
    assert.match(body.error.message, /send one of its API keys in the X-API-Key header/);
    assert.equal((await request(server.port, host, "/", { headers: { "x-api-key": "abc.def" } })).status, 401);
    const after = (await api<{ micro: { instances: unknown[] } }>(server, `/v1/micros/${id}`)).body.micro.instances;
    assert.equal(after.length, instancesBefore, "no instance was started for a refused request");
  });

  it("a created key opens it; the owner's token does too; another user's does not", async () => {
    const created = await cli(["auth", "create-api-key", "--name", "ci", "--desc", "for CI", "--outfile", "key.json"], {
      cwd: dir,
      env,
    });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /WILL ONLY BE SHOWN ONCE/);
    const { key, prefix } = JSON.parse(created.stdout) as { key: string; prefix: string };
    assert.ok(key.startsWith(`${prefix}.`));
    assert.equal((await stat(join(dir, "key.json"))).mode & 0o777, 0o600);

    assert.equal((await request(server.port, host, "/", { headers: { "x-api-key": key } })).status, 200);
    const owner = { authorization: `Bearer ${server.token}` };
    assert.equal((await request(server.port, host, "/", { headers: owner })).status, 200);
    const other = await fetch(`http://127.0.0.1:${server.port}/v1/users`, {
      method: "POST",
      headers: { ...owner, "content-type": "application/json" },
      body: JSON.stringify({ name: "stranger" }),
    });
    const { token } = (await other.json()) as { token: string };
    assert.equal(
      (await request(server.port, host, "/", { headers: { authorization: `Bearer ${token}` } })).status,
      401,
    );

    const listed = await cli(["auth", "list-api-keys"], { cwd: dir, env });
    assert.match(listed.stdout, new RegExp(`^ci +${prefix}\\.… .* for CI$`, "m"));
    assert.doesNotMatch(listed.stdout, new RegExp(key.split(".")[1] as string), "the secret is never shown again");
  });

  it("a deleted key stops working at once; `auth disable` makes the micro public again", async () => {
    const { key } = JSON.parse(await readFile(join(dir, "key.json"), "utf8")) as { key: string };
    assert.equal((await cli(["auth", "delete-api-key", "--name", "ci"], { cwd: dir, env })).code, 0);
    assert.equal((await request(server.port, host, "/", { headers: { "x-api-key": key } })).status, 401);
    const missing = await cli(["auth", "delete-api-key", "--name", "ci"], { cwd: dir, env });
    assert.match(missing.stderr, /has no API key named ci/);
    assert.equal((await cli(["auth", "disable"], { cwd: dir, env })).code, 0);
    assert.equal((await request(server.port, host)).status, 200);
  });
});
