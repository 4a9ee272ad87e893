import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, it } from "node:test";
import { cli, copyApp, loggedIn, request, useServer, useTmpDir } from "../helpers/micros.js";

describe("a Discord-style interactions micro", () => {
  it("verifies Ed25519 signatures over the exact bytes sent, which only works if the gateway keeps them", async () => {
    const server = await useServer();
    const dir = await copyApp("examples/discord-interactions", "interactions");
    const created = await cli(["new", "--json"], { cwd: dir, env: loggedIn(server, await useTmpDir()) });
    assert.equal(created.code, 0, created.stderr);
    const { id } = JSON.parse(created.stdout) as { id: string };

    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const rawPublicKey = publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("hex");
    const set = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}/env`, {
      method: "PUT",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ vars: { DISCORD_PUBLIC_KEY: rawPublicKey } }),
    });
    assert.equal(set.status, 200);

    const post = (body: string, signedBody = body) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(timestamp + signedBody), privateKey).toString("hex");
      return request(server.port, `interactions.localhost:${server.port}`, "/interactions", {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-signature-ed25519": signature,
          "x-signature-timestamp": timestamp,
        },
      });
    };
    // Whitespace and key order that a re-serialising proxy would change.
    const ping = '{ "type":1,  "id": "123" }';
    const pong = await post(ping);
    assert.equal(pong.status, 200, pong.body);
    assert.deepEqual(JSON.parse(pong.body), { type: 1 });
    const command = '{"type":2,"member":{"user":{"username":"ada"}}}';
    assert.deepEqual(JSON.parse((await post(command)).body), { type: 4, data: { content: "Hello, ada!" } });
    const forged = await post('{"type":2,"member":{"user":{"username":"mallory"}}}', command);
    assert.equal(forged.status, 401);
  });
});
