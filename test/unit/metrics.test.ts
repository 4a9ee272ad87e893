import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadServerConfig } from "../../src/server/config.js";
import { dataOperation } from "../../src/server/data/operation.js";
import { WarmPool } from "../../src/server/instances/executors/warm-pool.js";
import { parseListenAddress } from "../../src/server/metrics/exposure.js";
import { Metrics } from "../../src/server/metrics/metrics.js";
import { MicrosError } from "../../src/shared/errors.js";

describe("metrics", () => {
  it("keep a registry per server: two in one process count apart", async () => {
    const first = new Metrics();
    const second = new Metrics();
    first.request("hello", 200, 0.01);
    first.request("hello", 200, 0.02);
    second.request("hello", 404, 0.01);
    const one = await first.scrape();
    assert.match(one, /^micros_requests_total\{micro="hello",status="200"\} 2$/m);
    assert.match(one, /^micros_request_duration_seconds_count\{micro="hello"\} 2$/m);
    assert.doesNotMatch(one, /status="404"/);
    assert.match(await second.scrape(), /^micros_requests_total\{micro="hello",status="404"\} 1$/m);
  });

  it("read the instances and the warm pool at each scrape, every state shown even at zero", async () => {
    const metrics = new Metrics();
    let ready = 1;
    metrics.observe({
      instances: () => ({ states: new Map([["ready", ready]]), inFlight: 3 }),
      warmPool: () => [{ runtime: "nodejs20", ready: 2, preparing: 0 }],
    });
    let text = await metrics.scrape();
    assert.match(text, /^micros_instances\{state="ready"\} 1$/m);
    assert.match(text, /^micros_instances\{state="starting"\} 0$/m);
    assert.match(text, /^micros_instance_requests_in_flight 3$/m);
    assert.match(text, /^micros_warm_pool_sandboxes\{runtime="nodejs20",state="ready"\} 2$/m);
    ready = 0;
    text = await metrics.scrape();
    assert.match(text, /^micros_instances\{state="ready"\} 0$/m);
  });

  it("time a build only once its upload was received, and label it ok or failed", async () => {
    const metrics = new Metrics();
    metrics.deploy("ok", 12);
    metrics.deploy("ERR_DEPENDENCY_INSTALL_FAILED", 30);
    metrics.deploy("ERR_PAYLOAD_TOO_LARGE", undefined);
    const text = await metrics.scrape();
    assert.match(text, /^micros_deploys_total\{outcome="ERR_PAYLOAD_TOO_LARGE"\} 1$/m);
    assert.match(text, /^micros_build_duration_seconds_count\{outcome="ok"\} 1$/m);
    assert.match(text, /^micros_build_duration_seconds_count\{outcome="failed"\} 1$/m);
  });

  it("time only the starts that became ready", async () => {
    const metrics = new Metrics();
    metrics.coldStart("nodejs20", "ready", 0.08, true);
    metrics.coldStart("nodejs20", "failed", 0.5, false);
    const text = await metrics.scrape();
    assert.match(text, /^micros_cold_starts_total\{runtime="nodejs20",outcome="failed"\} 1$/m);
    assert.match(text, /^micros_cold_start_duration_seconds_count\{runtime="nodejs20",prepared_ahead="true"\} 1$/m);
    assert.doesNotMatch(text, /prepared_ahead="false"/);
  });
});

describe("Base and Drive operation names", () => {
  it("name every route the services serve, and anything else other", () => {
    const base = (method: string, ...rest: string[]) => dataOperation("base", method, rest);
    const drive = (method: string, ...rest: string[]) => dataOperation("drive", method, rest);
    assert.deepEqual(
      [
        base("PUT", "items"),
        base("POST", "items"),
        base("GET", "items", "a"),
        base("DELETE", "items", "a"),
        base("PATCH", "items", "a"),
        base("POST", "query"),
        base("GET", "query"),
        base("POST", "items", "a"),
      ],
      ["put", "insert", "get", "delete", "update", "query", "other", "other"],
    );
    assert.deepEqual(
      [
        drive("POST", "files"),
        drive("GET", "files"),
        drive("DELETE", "files"),
        drive("GET", "files", "download"),
        drive("HEAD", "files", "download"),
        drive("POST", "uploads"),
        drive("POST", "uploads", "u1", "parts"),
        drive("PATCH", "uploads", "u1"),
        drive("DELETE", "uploads", "u1"),
        drive("PUT", "files"),
        drive("GET", "uploads", "u1"),
      ],
      [
        "put",
        "list",
        "delete",
        "get",
        "get",
        "upload_start",
        "upload_part",
        "upload_complete",
        "upload_abort",
        "other",
        "other",
      ],
    );
  });
});

describe("the warm pool's counts", () => {
  it("count the ones being made as preparing, made and alive ones as ready, and leave out one that died", async () => {
    const made: { alive: boolean; discard(): Promise<void> }[] = [];
    const pool = new WarmPool(
      2,
      async () => {
        const warm = { alive: true, discard: async () => {} };
        made.push(warm);
        return warm;
      },
      () => {},
    );
    pool.keep(["nodejs20"]);
    assert.deepEqual(pool.counts(), [{ key: "nodejs20", ready: 0, preparing: 2 }]);
    // The pool makes them in turn, each in a few microtasks.
    while (made.length < 2) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(pool.counts(), [{ key: "nodejs20", ready: 2, preparing: 0 }]);
    (made[0] as { alive: boolean }).alive = false;
    assert.deepEqual(pool.counts(), [{ key: "nodejs20", ready: 1, preparing: 0 }]);
    await pool.close();
  });
});

describe("the metrics settings", () => {
  const load = (env: Record<string, string>) => loadServerConfig({ flags: {}, env, cwd: "/" });

  it("are off by default, and take a token and an address", async () => {
    const off = await load({});
    assert.equal(off.metricsToken, "");
    assert.equal(off.metricsListen, "");
    const on = await load({ MICROS_METRICS_TOKEN: "0123456789abcdef", MICROS_METRICS_LISTEN: "[::1]:9464" });
    assert.equal(on.metricsToken, "0123456789abcdef");
    assert.deepEqual(parseListenAddress(on.metricsListen), { host: "::1", port: 9464 });
    assert.deepEqual(parseListenAddress("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  });

  it("refuse a short token and an address without a port, naming each", async () => {
    const refused = await load({ MICROS_METRICS_TOKEN: "short", MICROS_METRICS_LISTEN: "127.0.0.1" }).then(
      () => assert.fail("accepted"),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof MicrosError);
    assert.equal(refused.code, "ERR_INVALID_SETTING");
    const lines = refused.message.split("\n");
    assert.match(lines[0] ?? "", /^MICROS_METRICS_TOKEN must be a token of 16 or more characters/);
    assert.match(lines[1] ?? "", /^MICROS_METRICS_LISTEN must be an address and port/);
    await assert.rejects(load({ MICROS_METRICS_LISTEN: "127.0.0.1:70000" }), /MICROS_METRICS_LISTEN/);
  });
});
