import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { Forwarder, type ForwardOutcome } from "../../src/server/cluster/forwarder.js";

/** A port nothing listens on: one a server had, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("forwarding to another node", () => {
  const forwarder = new Forwarder();
  const servers: Server[] = [];
  after(() => {
    forwarder.close();
    for (const server of servers) server.close();
  });

  /** A node that forwards every request it gets to `target`, and answers with the outcome when nothing was sent. */
  async function forwardingNode(target: string): Promise<number> {
    const server = createServer(async (req, res) => {
      const outcome: ForwardOutcome = await forwarder.web(req, res, target, { "x-micros-node": "test" });
      if (outcome !== "sent")
        res.end(JSON.stringify({ retry: outcome.retry, code: (outcome.unreachable as NodeJS.ErrnoException).code }));
    }).listen(0, "127.0.0.1");
    servers.push(server);
    await new Promise((resolve) => server.once("listening", resolve));
    return (server.address() as AddressInfo).port;
  }

  function send(port: number, method: string, body?: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path: "/x?y=1" }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("passes the request and its body through, with the node headers, and the answer back", async () => {
    const target = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk;
      });
      req.on("end", () => res.writeHead(201).end(`${req.method} ${req.url} ${req.headers["x-micros-node"]} ${body}`));
    }).listen(0, "127.0.0.1");
    servers.push(target);
    await new Promise((resolve) => target.once("listening", resolve));
    const port = await forwardingNode(`http://127.0.0.1:${(target.address() as AddressInfo).port}`);
    assert.deepEqual(await send(port, "POST", "hello"), { status: 201, text: "POST /x?y=1 test hello" });
  });

  it("says a node that refuses may be replaced for a request without a body, and not for one with a body", async () => {
    const port = await forwardingNode(`http://127.0.0.1:${await closedPort()}`);
    assert.deepEqual(JSON.parse((await send(port, "GET")).text), { retry: true, code: "ECONNREFUSED" });
    assert.deepEqual(JSON.parse((await send(port, "POST", "a body")).text), { retry: false, code: "ECONNREFUSED" });
  });
});
