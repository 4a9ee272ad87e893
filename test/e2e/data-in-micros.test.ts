import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

interface Probe {
  ok: boolean;
  code?: string;
  status?: number;
  output?: string;
}

/** Whether a TCP connection from the host itself opens within `ms`. */
function hostConnects(host: string, port: number, ms = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: ms });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve("ETIMEDOUT");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

describe("Base and Drive from inside a micro, with Deta's own hosts and no settings", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  const get = async (subdomain: string, path: string) => {
    const res = await request(server.port, `${subdomain}.localhost:${server.port}`, path);
    return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> };
  };

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
  });

  it("Deta's npm SDK 1.2.0 and 2.0.0, unmodified, put and get a Base item and a Drive file", async () => {
    const dir = await copyApp("deta-in-micro/node", "sdk");
    const created = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    for (const sdk of ["deta", "deta2"]) {
      const { status, body } = await get("sdk", `/?sdk=${sdk}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(body.got, { key: `${sdk}-item`, from: sdk, n: 1 });
      assert.equal(body.text, `written by ${sdk}`);
    }
    // A DETA_BASE_HOST the user sets is the SDK's to honour, as on Deta: the platform leaves it alone.
    await writeFile(join(dir, ".env"), "DETA_BASE_HOST=127.0.0.1:9\n");
    const updated = await cli(["update", "-e", ".env"], { cwd: dir, env });
    assert.equal(updated.code, 0, updated.stderr);
    const elsewhere = await get("sdk", "/?sdk=deta2");
    assert.equal(elsewhere.status, 500, JSON.stringify(elsewhere.body));
    assert.deepEqual(elsewhere.body.env, { base: "127.0.0.1:9" });
    // The CA's key is the server's alone.
    assert.equal((await stat(join(server.dataDir, "ca"))).mode & 0o777, 0o700);
    assert.equal((await stat(join(server.dataDir, "ca", "ca.key"))).mode & 0o777, 0o600);
  });

  it("Python's http.client.HTTPSConnection('database.deta.sh'), as Deta's Python SDK calls it", async () => {
    const dir = await copyApp("deta-in-micro/python", "py");
    const created = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const { status, body } = await get("py", "/");
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.got, [200, { key: "py-item", from: "python", n: 2 }]);
    assert.equal(body.file, 201);
    assert.deepEqual(body.text, [200, "written by python"]);
  });

  it("the services address answers an instance on its one port; nothing else of it or of the host does", async () => {
    const dir = await copyApp("hostile", "probe");
    const created = await cli(["new", "--json"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const probe = async (path: string) => (await get("probe", path)).body as unknown as Probe;
    const resolved = await probe(`/run?command=${encodeURIComponent("getent hosts database.deta.sh drive.deta.sh")}`);
    const address = /^(10\.\d+\.255\.253)\s+database\.deta\.sh/.exec(resolved.output ?? "")?.[1];
    assert.ok(address, `database.deta.sh resolves inside to: ${resolved.output}`);
    assert.deepEqual(await probe(`/connect?host=${address}&port=443`), { ok: true });
    for (const port of [22, 80, 4000, server.port]) {
      const other = await probe(`/connect?host=${address}&port=${port}`);
      assert.equal(other.ok, false, `port ${port} of the services address: ${JSON.stringify(other)}`);
    }
    const platform = await probe(`/connect?host=127.0.0.1&port=${server.port}`);
    assert.equal(platform.ok, false, `the platform's port: ${JSON.stringify(platform)}`);
    // Outside the sandboxes (here, the host itself) the address answers nothing.
    assert.equal(await hostConnects(address, 443), "ETIMEDOUT");
  });
});
