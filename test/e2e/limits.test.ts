import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { before, describe, it } from "node:test";
import { cli, copyApp, loggedIn, type MicrosServer, request, useServer, useTmpDir } from "../helpers/micros.js";

const MB = 1024 * 1024;

/** Sends a body in chunks without a Content-Length, as a streaming client does. */
function sendChunked(
  port: number,
  host: string,
  chunks: number,
  chunkSize: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/upload", method: "POST", headers: { host } }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    const chunk = Buffer.alloc(chunkSize, 97);
    for (let i = 0; i < chunks; i++) req.write(chunk);
    req.end();
  });
}

describe("request limits: a slow answer gets 504, an oversized body 413, and the app is unharmed", () => {
  let server: MicrosServer;
  let host: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await useServer(["--request-timeout", "1s"]);
    dir = await copyApp("limits", "limited");
    env = loggedIn(server, await useTmpDir());
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    host = `limited.localhost:${server.port}`;
  });

  const received = async () => Number((await request(server.port, host, "/received")).body);

  it("a request that takes longer than the limit gets 504 naming the limit, and is logged", async () => {
    const res = await request(server.port, host, "/sleep?ms=3000");
    assert.equal(res.status, 504);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_REQUEST_TIMEOUT");
    assert.match(error.message, /took longer than its 1 s limit to answer GET \/sleep\?ms=3000/);
    assert.match(error.message, /raise it with `micros update --timeout <seconds>` \(up to 300 s on this server\)/);
    assert.equal((await request(server.port, host, "/sleep?ms=10")).body, "woke up", "the instance still serves");
    const logs = await cli(["logs"], { cwd: dir, env });
    assert.match(logs.stdout, /request GET \/sleep\?ms=3000 timed out after 1 s/);
  });

  it("a body within 5.5 MB reaches the app whole", async () => {
    const before = await received();
    const res = await request(server.port, host, "/upload", { method: "POST", body: Buffer.alloc(5 * MB, 1) });
    assert.equal(res.status, 200);
    assert.equal(res.body, String(5 * MB));
    assert.equal(await received(), before + 5 * MB);
  });

  it("a declared body over 5.5 MB gets 413 before the app sees a byte", async () => {
    const before = await received();
    const res = await request(server.port, host, "/upload", { method: "POST", body: Buffer.alloc(6 * MB, 1) });
    assert.equal(res.status, 413);
    const { error } = JSON.parse(res.body);
    assert.equal(error.code, "ERR_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /is 6 MB, over the micro's 5\.5 MB limit/);
    assert.equal(await received(), before);
  });

  it("a streamed body that grows past 5.5 MB gets 413 and never reaches the app", async () => {
    const before = await received();
    const small = await sendChunked(server.port, host, 4, 256 * 1024);
    assert.equal(small.status, 200);
    assert.equal(small.body, String(MB), "a chunked body within the limit is delivered");
    const res = await sendChunked(server.port, host, 24, 256 * 1024);
    assert.equal(res.status, 413);
    assert.match(JSON.parse(res.body).error.message, /is more than 5\.5 MB/);
    assert.equal(await received(), before + MB);
    const logs = await cli(["logs"], { cwd: dir, env });
    assert.match(logs.stdout, /request refused with 413/);
  });

  it("a micro raises its own limits with `micros update`, up to the server's maximum", async () => {
    const tooMuch = await cli(["update", "--timeout", "1000", "--memory", "999999"], { cwd: dir, env });
    assert.equal(tooMuch.code, 1);
    assert.match(tooMuch.stderr, /memory 999999 MB is over this server's maximum of 2048 MB/);
    assert.match(tooMuch.stderr, /request timeout 1000 s is over this server's maximum of 300 s/);

    const raised = await cli(["update", "--timeout", "3", "--max-body", "7"], { cwd: dir, env });
    assert.equal(raised.code, 0, raised.stderr);
    assert.match(raised.stderr, /Limits: memory 512 MB, request timeout 3 s, request body 7 MB\./);
    assert.equal((await request(server.port, host, "/sleep?ms=2000")).body, "woke up");
    const big = await request(server.port, host, "/upload", { method: "POST", body: Buffer.alloc(6 * MB, 1) });
    assert.equal(big.body, String(6 * MB));

    const reset = await cli(["update", "--timeout", "default", "--max-body", "default"], { cwd: dir, env });
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stderr, /request timeout 1 s, request body 5\.5 MB/);
    assert.equal((await request(server.port, host, "/sleep?ms=2000")).status, 504);
  });
});
