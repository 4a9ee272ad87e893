import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { before, describe, it } from "node:test";
import {
  cli,
  copyApp,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
} from "../helpers/micros.js";

describe("HTTP semantics survive the gateway", () => {
  let server: MicrosServer;
  let host: string;

  before(async () => {
    server = await useServer(["--sandbox", "none"]);
    const created = await cli(["new"], {
      cwd: await copyApp("semantics", "semantics"),
      env: loggedIn(server, await useTmpDir()),
    });
    assert.equal(created.code, 0, created.stderr);
    host = `semantics.localhost:${server.port}`;
  });

  it("HEAD gets the headers and no body; OPTIONS and PATCH reach the app", async () => {
    const head = await request(server.port, host, "/thing", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.bytes.length, 0);
    assert.ok(Number(head.headers["content-length"]) > 0, "HEAD keeps the length GET would have");
    const options = await request(server.port, host, "/thing", { method: "OPTIONS" });
    assert.equal(options.headers.allow, "GET, HEAD, OPTIONS, PATCH");
    const patch = await request(server.port, host, "/thing", { method: "PATCH", body: "changed" });
    assert.deepEqual(JSON.parse(patch.body), { method: "PATCH", url: "/thing", bodyBytes: 7, big: 0, repeated: null });
  });

  it("repeated request and response headers arrive as repeated", async () => {
    const res = await new Promise<{ headers: string[]; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: server.port,
          path: "/",
          headers: ["host", host, "x-repeated", "first", "x-repeated", "second"] as unknown as Record<string, string>,
        },
        (answer) => {
          let body = "";
          answer.on("data", (chunk: Buffer) => {
            body += chunk;
          });
          answer.on("end", () => resolve({ headers: answer.rawHeaders, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(JSON.parse(res.body).repeated, "first, second");
    const answers = res.headers.filter((_, i) => i % 2 === 1 && res.headers[i - 1]?.toLowerCase() === "x-answer");
    assert.deepEqual(answers, ["one", "two"]);
  });

  it("large headers within Node's 16 KB limit pass; larger ones get 431", async () => {
    const ok = await request(server.port, host, "/", { headers: { "x-big": "b".repeat(12 * 1024) } });
    assert.equal(JSON.parse(ok.body).big, 12 * 1024);
    const tooBig = await request(server.port, host, "/", { headers: { "x-big": "b".repeat(40 * 1024) } });
    assert.equal(tooBig.status, 431);
  });

  it("Expect: 100-continue gets its 100 before the body is sent, then the answer", async () => {
    // A raw connection, to see the interim response exactly as a client would.
    const socket = connect(server.port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk;
    });
    socket.write(
      `POST /upload HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`,
    );
    await waitFor("the 100 Continue", async () => (received.includes("100 Continue") ? true : undefined));
    assert.doesNotMatch(received, /200 OK/, "nothing but the 100 before the body");
    socket.write("hello");
    await new Promise((resolve) => socket.once("end", resolve));
    assert.match(received, /HTTP\/1\.1 200 OK/);
    assert.equal(JSON.parse(received.slice(received.lastIndexOf("\r\n\r\n") + 4)).bodyBytes, 5);
  });
});
