import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, copyApp, loggedIn, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("--sandbox none, for development only", () => {
  it("serves micros as plain processes and says so loudly, at start and in details", async () => {
    const server = await useServer(["--sandbox", "none"]);
    assert.match(server.output(), /WARNING: --sandbox none: micros run as plain processes with the server's user/);
    const dir = await copyApp("boot-id", "unboxed");
    const env = loggedIn(server, await useTmpDir());
    assert.equal((await cli(["new"], { cwd: dir, env })).code, 0);
    assert.equal((await request(server.port, `unboxed.localhost:${server.port}`)).status, 200);
    const details = await cli(["details"], { cwd: dir, env });
    assert.match(details.stdout, /sandbox: +NONE: the server runs micros unisolated/);
  });
});
