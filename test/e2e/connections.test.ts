import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { before, describe, it } from "node:test";
import WebSocket from "ws";
import type { MicroView } from "../../src/shared/api.js";
import { api, cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

function nextMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once("message", (data) => resolve(String(data)));
    socket.once("error", reject);
  });
}

describe("long-lived connections through the gateway", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  const ids = new Map<string, string>();

  before(async () => {
    server = await useServer(["--idle-timeout", "1s"]);
    env = loggedIn(server, await useTmpDir());
    const apps: [source: string, name: string][] = [
      ["examples/websocket", "websocket"],
      ["streaming", "streaming"],
      ["examples/fastapi", "pyconnections"],
    ];
    for (const [source, fixture] of apps) {
      const result = await cli(["new", "--json"], { cwd: await copyApp(source, fixture), env });
      assert.equal(result.code, 0, result.stderr);
      ids.set(fixture, (JSON.parse(result.stdout) as MicroView).id);
    }
  });

  const instances = async (name: string) =>
    (await api<{ micro: MicroView }>(server, `/v1/micros/${ids.get(name)}`)).body.micro.instances.length;

  for (const name of ["websocket", "pyconnections"]) {
    it(`a WebSocket works end to end (${name}), keeps its instance awake, and lets it sleep once closed`, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${server.port}/chat`, {
        headers: { host: `${name}.localhost:${server.port}`, "x-forwarded-for": "6.6.6.6" },
      });
      assert.equal(await nextMessage(socket), "hello 127.0.0.1", "the app sees the real client address");
      socket.send("ping");
      assert.equal(await nextMessage(socket), "echo ping");
      // Longer than the idle timeout, with no HTTP request: the open connection counts as activity.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      socket.send("still there?");
      assert.equal(await nextMessage(socket), "echo still there?");
      assert.equal(await instances(name), 1);
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.close();
      await closed;
      const deadline = Date.now() + 10_000;
      while ((await instances(name)) > 0) {
        assert.ok(Date.now() < deadline, "the instance sleeps once the socket is closed");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
  }

  it("an upgrade to an unknown micro is refused with 404", async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/`, {
      headers: { host: `nobody.localhost:${server.port}` },
    });
    const status = await new Promise<number | undefined>((resolve) => {
      socket.once("unexpected-response", (_req, res) => resolve(res.statusCode));
      socket.once("error", () => resolve(undefined));
    });
    assert.equal(status, 404);
  });

  for (const name of ["streaming", "pyconnections"]) {
    it(`a streamed response reaches the client as it is written, not at the end (${name})`, async () => {
      const host = `${name}.localhost:${server.port}`;
      const events: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port: server.port, path: "/events", headers: { host } }, (res) => {
          assert.match(res.headers["content-type"] ?? "", /^text\/event-stream/);
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            events.push(chunk);
            // Only once the first event has arrived does the app get to write the second.
            if (events.length === 1) void request(server.port, host, "/release");
          });
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end();
      });
      assert.equal(events.join(""), "data: first\n\ndata: second\n\n");
      assert.equal(events[0], "data: first\n\n");
    });
  }
});
