/**
 * /metrics as Prometheus scrapes it from a real server: behind the metrics token on the platform's host, without
 * auth on --metrics-listen, and never on a micro's host. Counters are compared before and after known traffic, so
 * each must have moved by exactly what was sent.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import parsePrometheusTextFormat, { type Sample } from "parse-prometheus-text-format";
import {
  api,
  cli,
  loggedIn,
  type MicrosServer,
  request,
  useServer,
  useTmpDir,
  waitFor,
  writeApp,
} from "../helpers/micros.js";

const TOKEN = "scrape-token-for-the-metrics-test";

/** An app that answers 200 at / and 404 anywhere else: /metrics on its host included. */
const APP = `module.exports = (req, res) => {
  res.statusCode = req.url === "/" ? 200 : 404;
  res.end(req.url);
};
`;

/** A scrape: each family's type, and each series' samples by name (a histogram's as `_bucket`, `_sum`, `_count`). */
interface Scrape {
  types: Map<string, string>;
  samples: Map<string, Sample[]>;
}

/**
 * The parser folds a histogram's samples into one, whatever their labels (its `flattenMetrics` groups by `le`
 * alone), so the types come from parsing the text as it is, and the samples from parsing it with the histograms'
 * TYPE lines left out: each of their series is then a family of its own, with its labels kept.
 */
function parseScrape(text: string): Scrape {
  const types = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family.type]));
  const samples = new Map<string, Sample[]>();
  // Each label set's `_bucket`, `_sum` and `_count` lines come together, so a series' name comes back once per set.
  for (const family of parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ""))) {
    samples.set(family.name, [...(samples.get(family.name) ?? []), ...family.metrics]);
  }
  return { types, samples };
}

/** Whether a sample has every label in `labels` (and any others). */
function has(sample: { labels?: Record<string, string> }, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([name, value]) => sample.labels?.[name] === value);
}

/** The sum of a counter's or gauge's samples with these labels; 0 when there are none yet. */
function total(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const samples = scrape.samples.get(name) ?? [];
  return samples.filter((sample) => has(sample, labels)).reduce((sum, sample) => sum + Number(sample.value), 0);
}

/** How many observations a histogram's samples with these labels have. */
function observed(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  assert.equal(scrape.types.get(name), "HISTOGRAM", name);
  return total(scrape, `${name}_count`, labels);
}

describe("/metrics", () => {
  let server: MicrosServer;
  let listenUrl: string;
  let baseline: Scrape;
  let after: Scrape;
  let env: NodeJS.ProcessEnv;

  const scrape = async (url: string, headers: Record<string, string> = {}): Promise<Scrape> => {
    const response = await fetch(url, { headers });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parseScrape(await response.text());
  };
  const platform = () => `http://127.0.0.1:${server.port}/metrics`;
  const authorized = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    server = await useServer(["--metrics-listen", "127.0.0.1:0"], { MICROS_METRICS_TOKEN: TOKEN });
    listenUrl = await waitFor("the metrics address", async () => {
      return /Metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics) \(no auth\)/.exec(server.output())?.[1];
    });
    baseline = await scrape(platform(), authorized);

    env = loggedIn(server, await useTmpDir());
    const dir = join(await useTmpDir(), "metered");
    await mkdir(dir);
    await writeApp(dir, { "index.js": APP });
    const created = await cli(["new"], { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);

    // The first request starts the micro's instance (a cold start); the rest find it awake.
    const host = `metered.localhost:${server.port}`;
    for (const path of ["/", "/", "/", "/missing", "/metrics"]) {
      const answer = await request(server.port, host, path);
      assert.equal(answer.status, path === "/" ? 200 : 404);
      // A micro's own /metrics is the app's, never the platform's.
      assert.equal(answer.body, path);
    }

    // One Base write and one read, and one Drive write, with the project's key, on the platform's host.
    const { body } = await api<{ key: string }>(server, "/v1/projects/default/key");
    const project = body.key.split("_")[0];
    const data = (method: string, path: string, payload: string) =>
      fetch(`http://127.0.0.1:${server.port}${path}`, {
        method,
        headers: { "x-api-key": body.key, "content-type": "application/json" },
        body: payload,
      });
    const put = await data("PUT", `/base/v1/${project}/shop/items`, '{"items":[{"key":"a","n":1}]}');
    assert.equal(put.status, 207);
    const missing = await fetch(`http://127.0.0.1:${server.port}/base/v1/${project}/shop/items/nope`, {
      headers: { "x-api-key": body.key },
    });
    assert.equal(missing.status, 404);
    assert.equal((await data("POST", `/drive/v1/${project}/photos/files?name=a.txt`, "hello")).status, 201);

    after = await scrape(platform(), authorized);
  });

  it("refuses a scrape on the platform's host without the metrics token, in the API's error shape", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Bearer not-the-token" },
      { authorization: `Bearer ${server.token}` },
    ];
    for (const headers of attempts) {
      const response = await fetch(platform(), { headers });
      assert.equal(response.status, 401);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer/);
      const refused = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(refused.error.code, "ERR_UNAUTHORIZED");
      assert.match(refused.error.message, /--metrics-token/);
    }
  });

  it("counts each request by micro and status, exactly as sent", () => {
    const delta = (labels: Record<string, string>) =>
      total(after, "micros_requests_total", labels) - total(baseline, "micros_requests_total", labels);
    assert.equal(delta({ micro: "metered", status: "200" }), 3);
    assert.equal(delta({ micro: "metered", status: "404" }), 2);
    assert.equal(delta({}), 5, "no other request was counted");
    assert.equal(observed(after, "micros_request_duration_seconds", { micro: "metered" }), 5);
    assert.equal(observed(after, "micros_gateway_duration_seconds"), 5);
    assert.equal(observed(after, "micros_gateway_duration_seconds", { cold: "true" }), 1);
  });

  it("counts the one cold start and times it, and shows the awake instance", () => {
    assert.equal(total(after, "micros_cold_starts_total", { outcome: "ready" }), 1);
    assert.equal(total(after, "micros_cold_starts_total"), 1);
    assert.equal(observed(after, "micros_cold_start_duration_seconds"), 1);
    assert.equal(total(after, "micros_instances", { state: "ready" }), 1);
    assert.equal(total(after, "micros_instances"), 1);
    assert.equal(total(after, "micros_instance_requests_in_flight"), 0);
    assert.equal(after.types.get("micros_warm_pool_sandboxes"), "GAUGE");
    assert.ok(after.samples.get("micros_warm_pool_sandboxes")?.some((sample) => sample.labels?.state === "ready"));
  });

  it("counts the deploy and times its build", () => {
    assert.equal(total(after, "micros_deploys_total", { outcome: "ok" }), 1);
    assert.equal(total(after, "micros_deploys_total"), 1);
    assert.equal(observed(after, "micros_build_duration_seconds", { outcome: "ok" }), 1);
  });

  it("counts Base and Drive operations by operation and outcome", () => {
    assert.equal(total(after, "micros_base_operations_total", { op: "put", outcome: "ok" }), 1);
    assert.equal(total(after, "micros_base_operations_total", { op: "get", outcome: "client_error" }), 1);
    assert.equal(total(after, "micros_base_operations_total"), 2);
    assert.equal(total(after, "micros_drive_operations_total", { op: "put", outcome: "ok" }), 1);
    assert.equal(total(after, "micros_drive_operations_total"), 1);
  });

  it("has the daemon's own memory, event loop lag and event loop use", () => {
    assert.ok(total(after, "process_resident_memory_bytes") > 0);
    assert.ok(after.samples.has("nodejs_eventloop_lag_seconds"));
    assert.ok(after.samples.has("nodejs_heap_size_used_bytes"));
    const busy = (scrape: Scrape) => total(scrape, "micros_event_loop_busy_seconds_total");
    assert.ok(busy(after) > busy(baseline));
  });

  it("serves the same metrics without auth on --metrics-listen, and nothing else there", async () => {
    const open = await scrape(listenUrl);
    assert.equal(total(open, "micros_requests_total", { micro: "metered", status: "200" }), 3);
    const other = await fetch(listenUrl.replace(/\/metrics$/, "/v1/projects"));
    assert.equal(other.status, 404);
  });

  it("refuses to start when --metrics-listen's port is taken, naming the setting", async () => {
    const taken = new URL(listenUrl).port;
    await assert.rejects(useServer(["--metrics-listen", `127.0.0.1:${taken}`]), /--metrics-listen/);
  });
});
