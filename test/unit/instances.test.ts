import assert from "node:assert/strict";
import { createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { createGateway, type GatewayOptions } from "../../src/server/gateway/gateway.js";
import { clientResolver } from "../../src/server/gateway/trusted-proxy.js";
import { createUpgradeHandler } from "../../src/server/gateway/upgrade.js";
import { Dispatcher } from "../../src/server/instances/dispatcher.js";
import { invoke } from "../../src/server/instances/invoke.js";
import type { InstanceManagerOptions } from "../../src/server/instances/manager.js";
import { QUIET } from "../../src/server/logs/operator-log.js";
import type { Micros } from "../../src/server/store/micros.js";
import type { RequestLog } from "../../src/server/visor/request-log.js";
import { FAKE_LIMITS, MICRO, useFakeInstances } from "../helpers/fake-executor.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A gateway over fake instances, listening on a port; requests go to the one micro, MICRO. */
async function useGateway(settings: Partial<InstanceManagerOptions> = {}, access?: GatewayOptions["access"]) {
  const fake = await useFakeInstances(settings);
  const dispatcher = new Dispatcher(fake.manager);
  const options: GatewayOptions = {
    micros: { bySubdomain: async () => MICRO } as unknown as Micros,
    dispatcher,
    logs: fake.logs.sink,
    operator: QUIET,
    limits: FAKE_LIMITS,
    access: access ?? (async () => ({ allowed: true, platformHeaders: [] })),
    visor: { record() {} } as unknown as RequestLog,
    clientOf: clientResolver([]),
  };
  const gateway = createGateway(options);
  const upgrade = createUpgradeHandler(options);
  const server = createServer((req, res) => gateway(req, res, "fake"));
  server.on("upgrade", (req, socket, head) => upgrade(req, socket, head, "fake"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const instances = () => fake.manager.list(MICRO.id);
  return { ...fake, dispatcher, port, instances };
}

interface Answer {
  status: number;
  body: string;
  headers: IncomingMessage["headers"];
}

function get(port: number, path = "/", headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on("error", reject)
      .end();
  });
}

/** A request the client gives up on once `ready()` says so (an instance has started to start for it). */
async function giveUpWhen(port: number, ready: () => boolean): Promise<void> {
  const req = request({ host: "127.0.0.1", port, path: "/", agent: false });
  const closed = new Promise((resolve) => req.on("close", resolve));
  req.on("error", () => {});
  req.end();
  await until("the request to wait for an instance", ready);
  req.destroy();
  await closed;
}

describe("the instance boundary, on fake instances", () => {
  it("a client that gives up during a cold start lets go: the instance becomes ready, idles and sleeps", async () => {
    const { executor, port, instances, platformLines } = await useGateway({ idleTimeoutMs: 200 });
    executor.app = { ...executor.app, loadMs: 400 };
    await giveUpWhen(port, () => instances()[0]?.state === "starting");
    await until("the instance to start", () => instances()[0]?.state === "ready");
    assert.equal(instances()[0]?.inFlight, 0, "nothing holds the instance");
    await until("the instance to sleep", () => instances().length === 0);
    assert.ok((await platformLines()).some((line) => /going to sleep after being idle/.test(line)));
  });

  it("a WebSocket client that gives up during a cold start lets go too", async () => {
    const { executor, port, instances } = await useGateway({ idleTimeoutMs: 200 });
    executor.app = { ...executor.app, loadMs: 400 };
    const socket = connect(port, "127.0.0.1");
    socket.write("GET /chat HTTP/1.1\r\nHost: fake\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    await until("the upgrade to wait for an instance", () => instances()[0]?.state === "starting");
    socket.destroy();
    await until("the instance to start", () => instances()[0]?.state === "ready");
    assert.equal(instances()[0]?.inFlight, 0);
    await until("the instance to sleep", () => instances().length === 0);
  });

  it("a client that goes away mid-response stops the work upstream and releases the instance", async () => {
    const { executor, port, instances } = await useGateway();
    let upstreamClosed = false;
    executor.app = {
      ...executor.app,
      handler: (_req, res) => {
        res.writeHead(200);
        res.write("first part");
        res.once("close", () => {
          upstreamClosed = true;
        });
      },
    };
    await new Promise<void>((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/stream", agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      req.end();
    });
    await until("the upstream request to close", () => upstreamClosed);
    await until("the lease to be released", () => instances()[0]?.inFlight === 0);
  });

  it("an answer that does not come in time is 504, and the instance is released", async () => {
    const { executor, port, instances, platformLines } = await useGateway();
    executor.app = { ...executor.app, handler: () => {} };
    const res = await get(port, "/slow");
    assert.equal(res.status, 504);
    assert.match(JSON.parse(res.body).error.message, /longer than its 2 s limit to answer GET \/slow.*raise the limit/);
    assert.equal(instances()[0]?.inFlight, 0);
    assert.ok((await platformLines()).some((line) => /request GET \/slow timed out after 2 s/.test(line)));
  });

  it("a redeploy drains: in-flight requests finish on the old instance, new ones start the new release", async () => {
    const { executor, manager, port, instances } = await useGateway();
    executor.app = {
      ...executor.app,
      handler: (req, res) => setTimeout(() => res.end(`served ${req.url}`), req.url === "/slow" ? 300 : 0),
    };
    assert.equal((await get(port)).status, 200);
    const old = instances()[0]?.id;
    const slow = get(port, "/slow");
    await until("the slow request to arrive", () => instances()[0]?.inFlight === 1);
    MICRO.currentReleaseId = "r2";
    try {
      manager.retire(MICRO.id);
      assert.deepEqual(
        instances().map((instance) => instance.state),
        ["draining"],
      );
      assert.equal((await get(port, "/new")).body, "served /new");
      assert.equal((await slow).body, "served /slow", "the old instance finished its request");
      await until("the old instance to stop", () => !instances().some((instance) => instance.id === old));
      assert.deepEqual(
        instances().map((instance) => [instance.releaseId, instance.state]),
        [["r2", "ready"]],
      );
    } finally {
      MICRO.currentReleaseId = "r1";
    }
  });

  it("instances started with settings the micro no longer has drain at its next request, retired or not", async () => {
    const { port, instances } = await useGateway();
    assert.equal((await get(port)).status, 200);
    const old = instances()[0]?.id;
    MICRO.runtime = "fake2";
    try {
      assert.equal((await get(port)).status, 200);
      await until("the old instance to stop", () => !instances().some((instance) => instance.id === old));
      assert.equal(instances().length, 1);
    } finally {
      MICRO.runtime = "fake";
    }
  });

  it("an instance retired while it starts is stopped, and that is not counted as a failed start", async () => {
    const { executor, manager, port, instances } = await useGateway();
    executor.app = { ...executor.app, loadMs: 1000 };
    await giveUpWhen(port, () => instances()[0]?.state === "starting");
    manager.retire(MICRO.id);
    await until("the instance to be gone", () => instances().length === 0);
    assert.equal(manager.startFailures(MICRO.id), undefined);
  });

  it("launches a few instances at a time; the others wait their turn", async () => {
    const { executor, port, instances } = await useGateway({ concurrentLaunches: 2, instanceConcurrency: 1 });
    let launching = 0;
    let most = 0;
    const launch = executor.launch.bind(executor);
    executor.launch = async (spec) => {
      launching++;
      most = Math.max(most, launching);
      await sleep(50);
      launching--;
      return launch(spec);
    };
    executor.app = { ...executor.app, handler: (_req, res) => setTimeout(() => res.end("done"), 100) };
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(port)));
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
    assert.equal(instances().length, 4);
    assert.equal(most, 2);
  });

  it("starts more instances while every one is at its target, up to the maximum", async () => {
    const { executor, port, instances } = await useGateway({ instanceConcurrency: 2, maxInstances: 3 });
    executor.app = { ...executor.app, handler: (_req, res) => setTimeout(() => res.end("done"), 200) };
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(port)));
    assert.deepEqual(new Set(answers.map((answer) => answer.status)), new Set([200]));
    assert.equal(instances().length, 3);
    assert.equal(executor.launches, 3);
  });

  it("a crashing start is 502 at once; after two in a row the platform backs off without launching", async () => {
    const { executor, port } = await useGateway();
    executor.app = { ...executor.app, crashWith: 3 };
    for (let i = 0; i < 2; i++) {
      const res = await get(port);
      assert.equal(res.status, 502);
      assert.match(JSON.parse(res.body).error.message, /exited with code 3 before it was ready/);
    }
    const waiting = await get(port);
    assert.equal(waiting.status, 502);
    assert.match(JSON.parse(waiting.body).error.message, /failed to start 2 times in a row/);
    assert.equal(executor.launches, 2, "no launch while backing off");
  });

  it("a control message of an unknown type or code is the instance's failure, never the daemon's", async () => {
    const { executor, port, platformLines } = await useGateway();
    for (const line of [
      '{"type":"failed","code":"toString","message":"x"}',
      '{"type":"hello"}',
      "not json",
      "x".repeat(40_000),
    ]) {
      executor.app = { ...executor.app, controlLine: line };
      const res = await get(port);
      assert.equal(res.status, 502, line.slice(0, 40));
      const { error } = JSON.parse(res.body);
      assert.equal(error.code, "ERR_INSTANCE_PROTOCOL");
      assert.match(error.message, /sent an invalid control message/);
    }
    assert.ok((await platformLines()).some((line) => /failed to start: .*invalid control message/.test(line)));
  });

  it("a control message after ready stops the instance; its in-flight request is told why", async () => {
    const { executor, port, instances, platformLines } = await useGateway();
    executor.app = { ...executor.app, handler: () => {} };
    const pending = get(port);
    await until("the request to arrive", () => instances()[0]?.inFlight === 1);
    const id = instances()[0]?.id as string;
    executor.instances.get(id)?.control('{"type":"ready"}');
    const res = await pending;
    assert.equal(res.status, 502);
    assert.match(
      JSON.parse(res.body).error.message,
      /sent an invalid control message \(an unexpected "ready" message\)/,
    );
    await until("the instance to be gone", () => instances().length === 0);
    assert.ok((await platformLines()).some((line) => line.includes(`instance ${id} sent an invalid control message`)));
  });

  it("an app's output is cut into bounded lines, and a line over the limit says so", async () => {
    const { executor, port, instances, logs } = await useGateway();
    assert.equal((await get(port)).status, 200);
    const fake = executor.instances.get(instances()[0]?.id as string);
    fake?.stdout.write(`${"y".repeat(20_000)}\nshort line\n`);
    await sleep(20);
    await logs.sink.flush();
    const printed = logs.lines.filter((line) => line.source === "stdout").map((line) => line.message);
    assert.equal(printed.length, 2);
    assert.match(printed[0] as string, /^y{16384}… \[line cut: longer than 16 KiB\]$/);
    assert.equal(printed[1], "short line");
  });

  it("the platform's credentials never reach the app; the client's own headers do", async () => {
    const { executor, port } = await useGateway({}, async () => ({
      allowed: true,
      platformHeaders: ["authorization", "x-api-key"],
    }));
    executor.app = { ...executor.app, handler: (req, res) => res.end(JSON.stringify(req.headers)) };
    const seen = JSON.parse(
      (await get(port, "/", { authorization: "Bearer platform-token", "x-api-key": "k.s", "x-mine": "kept" })).body,
    );
    assert.equal(seen.authorization, undefined);
    assert.equal(seen["x-api-key"], undefined);
    assert.equal(seen["x-mine"], "kept");
  });

  it("reserved paths are refused in every spelling the app would decode", async () => {
    const { executor, port } = await useGateway();
    for (const path of ["/__micros/event", "/%5F_micros/event", "/%5f%5fmicros/event", "/__micros%2Fevent"]) {
      const res = await get(port, path);
      assert.equal(res.status, 404, path);
    }
    assert.equal(executor.launches, 0, "nothing was started for them");
  });

  it("platform calls refuse an answer over the limit and a body that is not the runner's answer", async () => {
    const { executor, dispatcher } = await useGateway();
    executor.app = { ...executor.app, handler: (_req, res) => res.end(Buffer.alloc(7 * 1024 * 1024, 1)) };
    const event = { type: "run", action: "", body: {} } as const;
    await assert.rejects(invoke(dispatcher, MICRO, event, { timeoutMs: 2000 }), {
      code: "ERR_ANSWER_TOO_LARGE",
    });
    executor.app = {
      ...executor.app,
      handler: (_req, res) => {
        res.writeHead(200, { "transfer-encoding": "chunked" });
        const chunk = Buffer.alloc(1024 * 1024, 1);
        for (let i = 0; i < 10; i++) res.write(chunk);
        res.end();
      },
    };
    await assert.rejects(invoke(dispatcher, MICRO, event, { timeoutMs: 2000 }), { code: "ERR_ANSWER_TOO_LARGE" });
    executor.app = { ...executor.app, handler: (_req, res) => res.end("<html>") };
    await assert.rejects(invoke(dispatcher, MICRO, event, { timeoutMs: 2000 }), { code: "ERR_INSTANCE_PROTOCOL" });
  });
});
