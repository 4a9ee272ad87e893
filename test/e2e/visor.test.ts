import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { RequestView } from "../../src/shared/api.js";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("the visor: every request through the gateway", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let host: string;
  const recorded = async () => JSON.parse((await cli(["visor", "--json"], { cwd: dir, env })).stdout) as RequestView[];

  before(async () => {
    server = await useServer();
    env = loggedIn(server, await useTmpDir());
    dir = await copyApp("limits", "visor-app");
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    host = `visor-app.localhost:${server.port}`;
  });

  it("records a cold start, then a warm request, with status, sizes and instance", async () => {
    await request(server.port, host, "/received");
    await request(server.port, host, "/echo", { method: "POST", body: "twelve bytes" });
    const [cold, warm] = await recorded();
    assert.ok(cold && warm);
    assert.deepEqual(
      { method: cold.method, path: cold.path, status: cold.status, cold: cold.cold },
      { method: "GET", path: "/received", status: 200, cold: true },
    );
    assert.deepEqual(
      { method: warm.method, path: warm.path, cold: warm.cold, requestBytes: warm.requestBytes },
      { method: "POST", path: "/echo", cold: false, requestBytes: 12 },
    );
    assert.equal(warm.instance, cold.instance);
    assert.ok(warm.responseBytes > 0 && warm.durationMs >= 0);
    // Where the cold start's time went; a warm request has only its first byte.
    const phases = cold.timings ?? {};
    assert.deepEqual(Object.keys(phases).sort(), ["codeMs", "firstByteMs", "loadMs", "sandboxMs"]);
    const spent = Object.values(phases).reduce((sum, ms) => sum + ms, 0);
    assert.ok(spent <= cold.durationMs + 0.1, `phases ${JSON.stringify(phases)} fit in ${cold.durationMs} ms`);
    assert.deepEqual(Object.keys(warm.timings ?? {}), ["firstByteMs"]);
    const listed = (await cli(["visor"], { cwd: dir, env })).stdout;
    assert.match(
      listed,
      /GET +200 .* cold {2}\/received {2}\(sandbox [\d.]+ ms, code [\d.]+ ms, app load [\d.]+ ms, first byte [\d.]+ ms\)/,
    );
  });

  it("records bodies only when enabled, never credentials, and replays a request", async () => {
    assert.equal((await cli(["visor", "enable"], { cwd: dir, env })).code, 0);
    await request(server.port, host, "/echo", {
      method: "POST",
      body: "replay me",
      headers: { "x-api-key": "secret.value", cookie: "session=secret", "x-trace": "kept" },
    });
    const last = (await recorded()).at(-1);
    assert.ok(last);
    const shown = JSON.parse((await cli(["visor", "show", String(last.id)], { cwd: dir, env })).stdout) as RequestView;
    assert.equal(Buffer.from(shown.requestBody ?? "", "base64").toString(), "replay me");
    assert.equal(Buffer.from(shown.responseBody ?? "", "base64").toString(), "9");
    const names = (shown.requestHeaders ?? []).map(([name]) => name.toLowerCase());
    assert.ok(names.includes("x-trace"));
    assert.ok(!names.includes("x-api-key") && !names.includes("cookie"), "credentials are never recorded");

    const replayed = await cli(["visor", "replay", String(last.id)], { cwd: dir, env });
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(replayed.stdout, "200\n9\n");
  });

  it("refuses to replay a request whose body it did not keep", async () => {
    assert.equal((await cli(["visor", "disable"], { cwd: dir, env })).code, 0);
    await request(server.port, host, "/echo", { method: "POST", body: "not kept" });
    const last = (await recorded()).at(-1);
    const replayed = await cli(["visor", "replay", String(last?.id)], { cwd: dir, env });
    assert.equal(replayed.code, 1);
    assert.match(replayed.stderr, /had a body, which the visor did not record: `micros visor enable`/);
  });
});
