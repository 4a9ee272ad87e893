import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { before, describe, it } from "node:test";
import type { MicroView } from "../../src/shared/api.js";
import {
  api,
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

const MB = 1024 * 1024;

/** The daemon's resident memory, in bytes. */
async function rss(server: MicrosServer): Promise<number> {
  const status = await readFile(`/proc/${server.process.pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
}

/** A request the client gives up on after `ms`, as a browser that is closed during a cold start. */
function giveUpAfter(port: number, host: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", headers: { host }, agent: false, timeout: ms });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.end();
  });
}

describe("a hostile instance: what an app does to its instance cannot harm the daemon or reach the platform", () => {
  let server: MicrosServer;
  let env: NodeJS.ProcessEnv;
  const micros = new Map<string, { dir: string; id: string }>();
  const host = (name: string) => `${name}.localhost:${server.port}`;
  const instances = async (name: string) =>
    (await api<{ micro: MicroView }>(server, `/v1/micros/${micros.get(name)?.id}`)).body.micro.instances;

  before(async () => {
    server = await useServer(["--idle-timeout", "1s", "--request-timeout", "60s"]);
    env = loggedIn(server, await useTmpDir());
    const apps: [source: string, name: string][] = [
      ["hostile-instance", "poison-code"],
      ["hostile-instance", "poison-type"],
      ["hostile-instance", "slow"],
      ["hostile-instance", "hostile"],
      ["hostile-instance", "private-echo"],
      ["actions-node", "actions-node"],
      ["actions-python", "actions-python"],
    ];
    for (const [source, name] of apps) {
      const dir = await copyApp(source, name);
      const created = await cli(["new", "--json"], { cwd: dir, env });
      assert.equal(created.code, 0, created.stderr);
      micros.set(name, { dir, id: (JSON.parse(created.stdout) as MicroView).id });
    }
  });

  it("a message on fd 3 before ready (an unknown code, an unknown type) is a 502 for that micro, and the server lives on", async () => {
    for (const name of ["poison-code", "poison-type"]) {
      const res = await request(server.port, host(name));
      assert.equal(res.status, 502, res.body);
      const { error } = JSON.parse(res.body);
      assert.equal(error.code, "ERR_INSTANCE_PROTOCOL");
      assert.match(error.message, /the micro's instance sent an invalid control message/i);
      const logs = await cli(["logs"], { cwd: micros.get(name)?.dir as string, env });
      assert.match(logs.stdout, /failed to start: .*sent an invalid control message/);
    }
    assert.equal(server.process.exitCode, null, "the server is still running");
    assert.equal((await request(server.port, host("hostile"))).status, 200, "other micros are served");
  });

  it("600 MB on stdout without a newline is one cut line, and the daemon does not hold it", async () => {
    const before = await rss(server);
    const res = await request(server.port, host("hostile"), "/flood?mb=600");
    assert.equal(res.body, "flooded");
    const grown = (await rss(server)) - before;
    assert.ok(grown < 100 * MB, `the daemon grew by ${Math.round(grown / MB)} MB`);
    const logs = (await cli(["logs"], { cwd: micros.get("hostile")?.dir as string, env })).stdout;
    assert.match(logs, /z{16384}… \[line cut: longer than 16 KiB\]/);
    assert.match(logs, /flood done/);
  });

  it("a `logs --follow` client that stops reading is skipped ahead, not buffered", async () => {
    const { id, dir } = micros.get("hostile") as { id: string; dir: string };
    const follower: Socket = connect(server.port, "127.0.0.1");
    follower.write(
      `GET /v1/micros/${id}/logs?follow=true HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${server.token}\r\n\r\n`,
    );
    follower.pause();
    const before = await rss(server);
    assert.equal((await request(server.port, host("hostile"), "/spam?lines=200000")).body, "spammed");
    // Every line is stored (and so passed to the follower) once `micros logs` has flushed them.
    await cli(["logs"], { cwd: dir, env });
    const grown = (await rss(server)) - before;
    assert.ok(grown < 100 * MB, `the daemon grew by ${Math.round(grown / MB)} MB for 200 MB of lines`);
    let seen = "";
    follower.on("data", (chunk: Buffer) => {
      seen = (seen + chunk.toString("utf8")).slice(-100_000);
    });
    follower.resume();
    await waitFor("the follower to be told what it missed", async () =>
      /\d+ lines skipped: this client read more slowly than the micro printed/.test(seen) ? true : undefined,
    );
    follower.destroy();
  });

  it("a run action's 150 MB answer is refused with ERR_ANSWER_TOO_LARGE, not buffered", async () => {
    const { id, dir } = micros.get("hostile") as { id: string; dir: string };
    // Room for the app to build its answer; the platform's limit is what is under test.
    assert.equal((await cli(["update", "--memory", "1024"], { cwd: dir, env })).code, 0);
    const before = await rss(server);
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/micros/${id}/run`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ action: "big", args: {} }),
    });
    assert.equal(response.status, 502);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, "ERR_ANSWER_TOO_LARGE");
    assert.match(error.message, /answered more than 6 MB/);
    const grown = (await rss(server)) - before;
    assert.ok(grown < 100 * MB, `the daemon grew by ${Math.round(grown / MB)} MB`);
  });

  for (const name of ["actions-node", "actions-python"]) {
    it(`the event path is refused in every encoding the app would decode (${name})`, async () => {
      const event = JSON.stringify({ type: "run", action: "greet", body: { name: "mallory" } });
      for (const path of [
        "/__micros/event",
        "/%5F_micros/event",
        "/%5f%5fmicros/event",
        "/__micros%2Fevent",
        "/__MICROS/event",
        "/x/../__micros/event",
        "//__micros/event",
      ]) {
        const res = await request(server.port, host(name), path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: event,
        });
        assert.equal(res.status, 404, `${path}: ${res.body}`);
        assert.match(JSON.parse(res.body).error.message, /reserved for the platform/);
      }
      const logs = (await cli(["logs"], { cwd: micros.get(name)?.dir as string, env })).stdout;
      assert.doesNotMatch(logs, /greeting mallory/);
    });
  }

  it("the credentials that open a private micro stay with the platform; a public micro's Authorization reaches it", async () => {
    const dir = micros.get("private-echo")?.dir as string;
    assert.equal((await cli(["auth", "enable"], { cwd: dir, env })).code, 0);
    const created = await cli(["auth", "create-api-key", "--name", "k"], { cwd: dir, env });
    const { key } = JSON.parse(created.stdout) as { key: string };
    const seen = async (headers: Record<string, string>) => {
      const res = await request(server.port, host("private-echo"), "/", { headers });
      assert.equal(res.status, 200, res.body);
      return (JSON.parse(res.body) as { headers: Record<string, string> }).headers;
    };
    const byKey = await seen({ "x-api-key": key, "x-app-header": "kept" });
    assert.equal(byKey["x-api-key"], undefined);
    assert.equal(byKey["x-app-header"], "kept");
    const byOwner = await seen({ authorization: `Bearer ${server.token}` });
    assert.equal(byOwner.authorization, undefined);

    const res = await request(server.port, host("hostile"), "/", { headers: { authorization: "Bearer app-token" } });
    assert.equal(JSON.parse(res.body).headers.authorization, "Bearer app-token");
  });

  it("a client that gives up during a cold start does not pin the instance awake (HTTP and WebSocket)", async () => {
    await giveUpAfter(server.port, host("slow"), 500);
    await waitFor("the instance to start", async () => ((await instances("slow")).length > 0 ? true : undefined));
    await waitFor("the instance to sleep", async () => ((await instances("slow")).length === 0 ? true : undefined));

    const socket = connect(server.port, "127.0.0.1");
    socket.write(
      `GET /chat HTTP/1.1\r\nHost: ${host("slow")}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.destroy();
    await waitFor("the instance to start", async () => ((await instances("slow")).length > 0 ? true : undefined));
    await waitFor("the instance to sleep", async () => ((await instances("slow")).length === 0 ? true : undefined));
    const logs = (await cli(["logs"], { cwd: micros.get("slow")?.dir as string, env })).stdout;
    assert.match(logs, /going to sleep after being idle/);
  });
});
