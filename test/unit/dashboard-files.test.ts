import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { type DashboardFiles, loadDashboard } from "../../src/server/dashboard/static-files.js";
import { useTmpDir } from "../helpers/micros.js";

/** Serves `files` as the server does: the dashboard's requests to it, anything else answered 404 "api". */
async function serve(files: DashboardFiles): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (files.handles(req)) files.serve(req, res);
    else res.writeHead(404, { "content-type": "application/json" }).end('"api"');
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("the dashboard's files", () => {
  let url: string;
  let server: Server;
  const script = `console.log(${JSON.stringify("x".repeat(4096))});`;

  before(async () => {
    const dir = await useTmpDir();
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>Micros</title>");
    await writeFile(join(dir, "assets", "index-abc123.js"), script);
    await writeFile(join(dir, "favicon.svg"), "<svg></svg>");
    ({ url, server } = await serve(await loadDashboard(dir)));
  });
  after(() => server.close());

  it("answers index.html for the pages' paths only, everything else goes on to the API", async () => {
    for (const path of ["/", "/micros", "/micros/abc", "/micros/abc/logs", "/projects/shop/base", "/micros/abc?x=1"]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), "<!doctype html><title>Micros</title>", path);
    }
    for (const path of ["/v1/micros", "/healthz", "/metrics", "/assets/other.js", "/micros/a/b/c", "/projects/shop"]) {
      assert.equal(await (await fetch(`${url}${path}`)).text(), '"api"', path);
    }
    assert.equal(await (await fetch(`${url}/`, { method: "POST" })).text(), '"api"');
  });

  it("sends the policy with every file, caches hashed assets for good and revalidates the rest", async () => {
    const page = await fetch(`${url}/micros/abc`);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'; script-src 'self';/);
    const again = await fetch(`${url}/`, { headers: { "if-none-match": page.headers.get("etag") ?? "" } });
    assert.equal(again.status, 304);
    const asset = await fetch(`${url}/assets/index-abc123.js`);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(asset.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal((await fetch(`${url}/favicon.svg`)).headers.get("content-type"), "image/svg+xml");
  });

  it("sends a compressed copy to a client that takes gzip", async () => {
    const bytes = await new Promise<Buffer>((done, fail) => {
      get(`${url}/assets/index-abc123.js`, { headers: { "accept-encoding": "gzip" } }, (res) => {
        assert.equal(res.headers["content-encoding"], "gzip");
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => done(Buffer.concat(chunks)));
      }).on("error", fail);
    });
    assert.ok(bytes.length < script.length);
    assert.equal(gunzipSync(bytes).toString(), script);
  });

  it("says how to build it when the server has no build", async () => {
    const empty = await serve(await loadDashboard(join(await useTmpDir(), "missing")));
    try {
      const res = await fetch(`${empty.url}/`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build/);
    } finally {
      empty.server.close();
    }
  });
});
